"""The citizen's session, driven through every transition with no window and no device."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hardware.emulator import sample_card
from kiosk.cache import cache_of
from kiosk.card import CardData, CardFault
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    PrinterChanged,
    ReadersChanged,
    ReaderServiceLost,
    SlipPrinted,
)
from kiosk.hall.api import load_data
from kiosk.notices import SHOWN_FIRST, Notice, parse_notices, ranked
from kiosk.session import (
    DUE_JOB,
    DUE_PRINTED,
    FETCHED,
    HELP_HOLDS_S,
    BroadcastChanged,
    FetchPersonal,
    HallSettings,
    HelpAnswered,
    PersonalFailed,
    PersonalLoaded,
    Preferences,
    PrintSlip,
    QueueAssist,
    QueueReceipt,
    Screen,
    Session,
    Speak,
    SpeakNotice,
    StopSpeaking,
    Tick,
    Touch,
    VerifyPin,
)
from kiosk.slip import Place

CHINA = timezone(timedelta(hours=8))
TODAY = datetime(2026, 11, 26, 10, 0, tzinfo=CHINA)
BROADCAST, PERSONAL = load_data(today=TODAY.date())
_FOLDER = tempfile.TemporaryDirectory(prefix="ss-kiosk-test-session-")
CACHED = cache_of(Path(_FOLDER.name) / "broadcast.sqlite3", parse_notices(BROADCAST)[0])  # read, never written
READER = "Virtual PCD 00 00"


def card(name: str = "wang-ming") -> CardData:
    return sample_card(name)


def notices(items: list[dict], personal: bool = False) -> tuple:
    return tuple(n for n, _ in parse_notices(items, personal=personal)[0])


def new_session(**hall: object) -> Session:
    session = Session(HallSettings(**hall), today=lambda: TODAY)  # type: ignore[arg-type]
    session.handle(ReadersChanged((READER,), READER))
    session.handle(BroadcastChanged(CACHED, last_sync=1.0, stale=False))
    session.handle(Tick(0.0))
    return session


def keys(effects: list) -> list[str]:
    return [e.key for e in effects if isinstance(e, Speak)]


def insert(session: Session, name: str = "wang-ming") -> CardData:
    data = card(name)
    session.handle(CardInserted(READER, "3B"))
    assert session.view.screen == Screen.READING
    session.handle(CardRead(READER, "3B", data))
    return data


def enter_pin(session: Session, pin: str = "123456") -> list:
    effects: list = []
    for digit in pin:
        effects = session.handle(Touch("pin_digit", digit))
    return effects


def signed_in(name: str = "wang-ming", **hall: object) -> Session:
    session = new_session(**hall)
    data = insert(session, name)
    if session.view.screen == Screen.PIN:
        enter_pin(session)
        session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
    session.handle(Touch("continue"))  # past the expired-card hint, when there is one
    session.handle(
        PersonalLoaded(session.visit, "subject-0123456789abcdef", notices(PERSONAL[data.ssn], personal=True))
    )
    return session


def test_the_whole_happy_path() -> None:
    session = new_session()
    assert session.view.screen == Screen.ATTRACT and session.view.headlines
    assert all(n.audience is None for n in session.view.headlines), "no card: notices for everyone only"
    data = insert(session)
    assert session.view.screen == Screen.PIN and session.view.notices == ()
    effects = enter_pin(session)
    assert VerifyPin("123456") in effects and session.view.pin_checking
    effects = session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
    assert FetchPersonal(data.ssn, data.card_no, session.visit) in effects
    assert session.view.screen == Screen.NOTICES and session.view.personal_loading
    assert session.view.greeting == ("王", "male") and keys(effects) == ["notices.greeting_named"]
    effects = session.handle(
        PersonalLoaded(session.visit, "subject-0123456789abcdef", notices(PERSONAL[data.ssn], personal=True))
    )
    first = session.view.notices[0]
    assert first.category == "certification_due" and first.priority == "urgent" and first.personal
    assert effects == [SpeakNotice(first.id, interrupt=False)], "read after the greeting, not over it"
    assert any(n.audience and n.audience.min_age == 60 for n in session.view.notices), "his age's notices are in"


def test_touches_from_card_in_to_the_most_urgent_notice_read() -> None:
    session = new_session()
    insert(session)
    touches = 0
    for digit in "123456":
        session.handle(Touch("pin_digit", digit))
        touches += 1
    session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
    session.handle(
        PersonalLoaded(
            session.visit, "subject-0123456789abcdef", notices(PERSONAL["110105194803151234"], personal=True)
        )
    )
    session.handle(Touch("open_notice", session.view.notices[0].id))
    touches += 1
    assert session.view.screen == Screen.DETAIL and session.view.detail.priority == "urgent"
    assert touches == 7  # six PIN digits and one tap; the notice is also spoken as soon as the list comes up


def test_without_pin_the_notices_come_straight_after_the_read() -> None:
    session = new_session(require_pin=False)
    insert(session)
    assert session.view.screen == Screen.NOTICES and session.view.in_session


def test_wrong_pin_then_last_try_warning_then_blocked() -> None:
    session = new_session()
    insert(session)
    enter_pin(session, "000000")
    effects = session.handle(PinChecked(ok=False, tries_left=2, blocked=False))
    assert session.view.screen == Screen.PIN and session.view.pin_wrong and session.view.tries_left == 2
    assert session.view.pin_length == 0 and keys(effects) == ["pin.wrong"]
    enter_pin(session, "111111")
    assert keys(session.handle(PinChecked(ok=False, tries_left=1, blocked=False))) == ["pin.last_try"]
    enter_pin(session, "222222")
    effects = session.handle(PinChecked(ok=False, tries_left=0, blocked=True))
    assert session.view.screen == Screen.PIN_BLOCKED and keys(effects) == ["pin_blocked.prompt"]
    assert session.handle(CardRemoved(READER)) and session.view.screen == Screen.ATTRACT


def test_the_pin_is_not_kept_once_sent_and_digits_wait_while_checking() -> None:
    session = new_session()
    insert(session)
    enter_pin(session)
    assert session._person is not None and session._person.pin == ""
    assert session.handle(Touch("pin_digit", "9")) == [] and session.view.pin_length == 6  # six dots while checking
    session.handle(PinChecked(ok=False, tries_left=2, blocked=False))
    session.handle(Touch("pin_digit", "4"))
    session.handle(Touch("pin_digit", "2"))
    session.handle(Touch("pin_delete"))
    assert session.view.pin_length == 1
    assert session.handle(Touch("pin_digit", "x")) == [] and session.view.pin_length == 1


def test_expired_card_shows_the_renewal_hint_then_the_notices() -> None:
    session = new_session()
    data = insert(session, "li-xiuying-expired")
    enter_pin(session, "135790")
    session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
    assert session.view.screen == Screen.CARD_EXPIRED and session.view.expired_on == data.expiry_date
    session.handle(
        PersonalLoaded(session.visit, "subject-0123456789abcdef", notices(PERSONAL[data.ssn], personal=True))
    )
    session.handle(Touch("continue"))
    assert session.view.screen == Screen.NOTICES
    assert session.view.notices[0].category == "card_renewal"


@pytest.mark.parametrize("fault", list(CardFault))
def test_each_card_problem_has_its_own_prompt(fault: CardFault) -> None:
    session = new_session()
    session.handle(CardInserted(READER, "3B"))
    effects = session.handle(CardUnreadable(READER, "3B", fault, "detail"))
    assert session.view.screen == Screen.CARD_PROBLEM and session.view.card_fault is fault
    assert keys(effects) == [f"card_problem.{fault.value}"]


def test_a_card_pulled_mid_read_keeps_its_message_a_while() -> None:
    session = new_session()
    session.handle(CardInserted(READER, "3B"))
    session.handle(CardUnreadable(READER, "3B", CardFault.REMOVED_DURING_READ, ""))
    session.handle(CardRemoved(READER))
    assert session.view.screen == Screen.CARD_PROBLEM
    session.handle(Tick(10.0))
    assert session.view.screen == Screen.CARD_PROBLEM
    session.handle(Tick(15.0))
    assert session.view.screen == Screen.ATTRACT


def test_a_foreign_card_goes_back_to_attract_when_taken_out() -> None:
    session = new_session()
    session.handle(CardInserted(READER, "3B"))
    session.handle(CardUnreadable(READER, "3B", CardFault.NOT_SOCIAL_SECURITY_CARD, ""))
    session.handle(CardRemoved(READER))
    assert session.view.screen == Screen.ATTRACT and session.view.card_fault is None


def test_reader_service_lost_and_back() -> None:
    session = signed_in()
    session.handle(ReaderServiceLost("gone"))
    assert session.view.screen == Screen.NO_SERVICE and session.view.notices == () and not session.view.in_session
    session.handle(CardRemoved(READER))
    assert session.view.screen == Screen.NO_SERVICE
    session.handle(ReadersChanged((READER,), READER))
    assert session.view.screen == Screen.ATTRACT


def test_no_reader() -> None:
    session = new_session()
    session.handle(ReadersChanged((), None))
    assert session.view.screen == Screen.NO_READER
    session.handle(ReadersChanged((READER,), READER))
    assert session.view.screen == Screen.ATTRACT


def test_backend_down_shows_broadcast_and_says_personal_is_unavailable() -> None:
    session = new_session()
    insert(session)
    enter_pin(session)
    session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
    effects = session.handle(PersonalFailed(session.visit, "unreachable"))
    assert session.view.personal_unavailable and not session.view.personal_loading
    assert session.view.notices and all(not n.personal for n in session.view.notices)
    assert keys(effects) == ["notices.personal_unavailable"]


def test_idle_warning_at_least_20_seconds_before_the_reset_then_continue() -> None:
    session = signed_in(idle_warning_s=60, idle_reset_s=90)
    assert session.handle(Tick(59.0)) == [] and session.view.idle_seconds_left is None
    effects = session.handle(Tick(60.0))
    assert session.view.idle_seconds_left == 30 and keys(effects) == ["idle.warning"]
    assert dict(effects[0].params)["seconds"] == "30"
    assert session.handle(Tick(61.0)) == [], "the warning is said once"
    session.handle(Touch("continue"))
    assert session.view.idle_seconds_left is None and session.view.screen == Screen.NOTICES
    session.handle(Tick(100.0))
    assert session.view.screen == Screen.NOTICES


def test_idle_reset_wipes_the_session_and_reminds_to_take_the_card_until_it_is_out() -> None:
    session = signed_in(idle_warning_s=60, idle_reset_s=90, take_card_every_s=8)
    session.handle(Touch("large_text"))
    session.handle(Tick(60.0))
    effects = session.handle(Tick(90.0))
    view = session.view
    assert view.screen == Screen.GOODBYE and keys(effects) == ["goodbye.prompt"]
    assert view.notices == () and view.greeting == ("", "") and not view.in_session and session._person is None
    assert session.handle(Tick(95.0)) == []
    assert keys(session.handle(Tick(98.0))) == ["goodbye.take_card"]
    assert keys(session.handle(Tick(106.0))) == ["goodbye.take_card"]
    effects = session.handle(CardRemoved(READER))
    assert StopSpeaking() in effects and session.view.screen == Screen.ATTRACT
    assert session.view.prefs == Preferences(), "the toggles are back to the hall's defaults"


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4])
def test_card_removed_at_any_point_wipes_everything(steps: int) -> None:
    session = new_session()
    insert(session)
    for step in [
        lambda: enter_pin(session),
        lambda: session.handle(PinChecked(ok=True, tries_left=None, blocked=False)),
        lambda: session.handle(
            PersonalLoaded(session.visit, "s" * 32, notices(PERSONAL["110105194803151234"], personal=True))
        ),
        lambda: session.handle(Touch("open_notice", session.view.notices[0].id)),
    ][:steps]:
        step()
    session.handle(CardRemoved(READER))
    view = session.view
    assert view.screen == Screen.ATTRACT and view.notices == () and view.detail is None and view.pin_length == 0
    assert view.greeting == ("", "") and session._person is None and not view.in_session
    assert (
        session.handle(PersonalLoaded(session.visit, "s" * 32, notices(PERSONAL["110105194803151234"], personal=True)))
        == []
    )
    assert session.view.notices == (), "a late answer for a card that left is dropped"


def test_feedback_read_mute_and_remind_later() -> None:
    session = signed_in()
    by_category = {n.category: n for n in session.view.notices if n.personal}
    case = by_category["case_progress"]
    session.handle(Touch("open_notice", case.id))
    effects = session.handle(Touch("mark_read"))
    assert QueueReceipt(case.id, "subject-0123456789abcdef", "read", None) in effects
    assert session.view.screen == Screen.NOTICES and case.id in session.view.read_ids
    session.handle(Touch("open_notice", case.id))
    effects = session.handle(Touch("remind_later"))
    assert QueueReceipt(case.id, "subject-0123456789abcdef", "remind_later", "7") in effects
    assert case.id not in {n.id for n in session.view.notices}
    policy = next(n for n in session.view.notices if n.category == "policy_update" and n.priority != "urgent")
    session.handle(Touch("open_notice", policy.id))
    session.handle(Touch("mute_category"))
    assert "policy_update" not in {n.category for n in session.view.notices if n.priority != "urgent"}
    urgent = session.view.notices[0]
    session.handle(Touch("open_notice", urgent.id))
    effects = session.handle(Touch("mute_category"))
    assert QueueReceipt(urgent.id, "subject-0123456789abcdef", "mute_category", urgent.category) in effects
    assert urgent.id in {n.id for n in session.view.notices}, "urgent is never muted"


def test_top_five_then_more() -> None:
    session = signed_in()
    assert len(session.view.notices) > 5
    assert len(session.view.shown_notices) == 5 and session.view.more_count == len(session.view.notices) - 5
    total = len(session.view.notices)
    session.handle(Touch("more"))
    assert session.view.shown_notices == session.view.notices[5:10]
    assert session.view.more_count == max(0, total - 10)
    while session.view.more_count:
        session.handle(Touch("more"))
    assert session.handle(Touch("more")) == [] and session.view.shown_notices, "no empty page after the last"
    session.handle(Touch("back"))
    session.handle(Touch("back"))
    session.handle(Touch("back"))
    assert session.view.page == 0 and len(session.view.shown_notices) == 5


def test_a_list_longer_than_is_read_at_once_turns_page_by_page_to_its_end(tmp_path: Path) -> None:
    """The window's process reads a person's list FETCHED at a time from the cache; the pages past them read on,
    the cardholder's own notices merged in rank, none twice, none missing."""
    many = [{**BROADCAST[i % len(BROADCAST)], "id": f"many-{i:04d}"} for i in range(400)]
    session = signed_in()
    session.handle(BroadcastChanged(cache_of(tmp_path / "b.sqlite3", parse_notices(many)[0]), 1.0, False))
    data = card()
    expected = ranked([*notices(many), *notices(PERSONAL[data.ssn], personal=True)], TODAY,
                      data.age(TODAY.date()), data.region)  # fmt: skip
    assert len(expected) > 2 * FETCHED and len(session.view.notices) == FETCHED
    seen = list(session.view.shown_notices)
    while session.view.more_count:
        session.handle(Touch("more"))
        seen += session.view.shown_notices
    assert [n.id for n in seen] == [n.id for n in expected] and session.view.notice_count == len(expected)
    assert any(n.personal for n in seen[:SHOWN_FIRST]), "王明's own certification deadline leads"


def test_goodbye_rating_once_and_help_from_any_screen() -> None:
    session = signed_in()
    effects = session.handle(Touch("help"))
    assert QueueAssist("notices", session.view.help_id) in effects and session.view.help_requested
    session.handle(Touch("finish"))
    assert session.view.screen == Screen.GOODBYE and session._person is None
    assert QueueReceipt(None, None, "rating", "good") in session.handle(Touch("rating", "good"))
    assert session.handle(Touch("rating", "bad")) == [], "one rating a session"


def test_greeting_uses_the_surname_only_and_can_be_switched_off() -> None:
    assert signed_in().view.greeting == ("王", "male")
    assert signed_in(greet_by_name=False).view.greeting == ("", "male")
    assert signed_in("gulnazar").view.greeting == ("", "female"), "no surname is guessed for a minority name"


def test_every_screen_has_a_prompt_and_repeat_says_it_again() -> None:
    session = new_session()
    assert keys(session.handle(Touch("repeat"))) == ["attract.prompt"]
    insert(session)
    assert keys(session.handle(Touch("repeat"))) == ["pin.prompt"]


def test_language_and_toggles_reset_after_the_session() -> None:
    hall = HallSettings(defaults=replace(Preferences(), language="zh_CN"))
    session = Session(hall, today=lambda: TODAY)
    session.handle(Touch("language"))
    session.handle(Touch("high_contrast"))
    session.handle(Touch("voice"))
    assert session.view.prefs == Preferences(language="en", high_contrast=True, voice=False)
    session.handle(CardInserted(READER, "3B"))
    session.handle(CardRemoved(READER))
    assert session.view.prefs == Preferences()


def test_a_late_answer_for_the_previous_card_is_never_shown_to_the_next_citizen() -> None:
    session = new_session(require_pin=False)
    insert(session, "wang-ming")
    first_visit = session.visit
    session.handle(CardRemoved(READER))
    insert(session, "gulnazar")
    late = session.handle(
        PersonalLoaded(first_visit, "subject-of-wang-ming-0123", notices(PERSONAL["110105194803151234"], personal=True))
    )
    assert late == [] and not any(n.personal for n in session.view.notices), "王明's notices shown to the next person"
    assert session.view.personal_loading, "still waiting for her own"
    assert session.handle(PersonalFailed(first_visit, "timeout")) == [] and not session.view.personal_unavailable


def test_listening_to_a_long_notice_or_turning_its_pages_is_not_idle() -> None:
    from kiosk.session import Listening

    session = signed_in(idle_warning_s=60, idle_reset_s=90)
    session.handle(Touch("open_notice", session.view.notices[0].id))
    session.handle(Tick(10.0))
    session.handle(Listening(93.0))  # 300 characters read aloud at the normal pace
    session.handle(Tick(100.0))
    assert session.view.screen == Screen.DETAIL and session.view.idle_seconds_left is None
    session.handle(Tick(160.0))
    session.handle(Touch("page"))
    session.handle(Tick(200.0))
    assert session.view.screen == Screen.DETAIL and session.view.idle_seconds_left is None


def test_the_toggles_go_back_to_the_hall_defaults_when_nobody_finishes() -> None:
    session = new_session(idle_warning_s=60, idle_reset_s=90)
    session.handle(Touch("language"))
    session.handle(Touch("voice"))
    session.handle(Tick(30.0))
    assert session.view.prefs.language == "en"
    session.handle(Tick(70.0))
    assert session.view.prefs == Preferences(), "an English, silent screen for the next citizen: no"
    pulled = new_session()
    pulled.handle(Touch("large_text"))
    pulled.handle(CardInserted(READER, "3B"))
    pulled.handle(CardUnreadable(READER, "3B", CardFault.REMOVED_DURING_READ, ""))
    pulled.handle(CardRemoved(READER))
    pulled.handle(Tick(16.0))
    assert pulled.view.screen == Screen.ATTRACT and pulled.view.prefs == Preferences()


def test_help_is_called_once_however_often_it_is_pressed() -> None:
    session = signed_in()
    first = session.handle(Touch("help"))
    again = session.handle(Touch("help"))
    assert QueueAssist("notices", session.view.help_id) in first and not any(isinstance(e, QueueAssist) for e in again)
    assert keys(again) == ["help.requested"]


def test_staff_taking_the_request_is_told_to_the_citizen_once_and_the_next_citizen_starts_afresh() -> None:
    session = signed_in()
    session.handle(Touch("help"))
    called = session.view.help_id
    assert keys(session.handle(HelpAnswered("another-visits-request", "acknowledged"))) == []
    assert not session.view.help_coming, "an answer to another request changes nothing"
    assert keys(session.handle(HelpAnswered(called, "acknowledged"))) == ["help.coming"]
    assert keys(session.handle(HelpAnswered(called, "acknowledged"))) == [], "told once"
    session.handle(Touch("open_notice", session.view.notices[0].id))
    assert session.view.help_requested and session.view.help_coming, "staff come to the kiosk, whatever it shows"
    assert keys(session.handle(Touch("help"))) == ["help.coming"]
    session.handle(Touch("finish"))
    session.handle(CardRemoved(READER))
    assert session.view.screen == Screen.ATTRACT
    assert not session.view.help_requested and not session.view.help_coming and session.view.help_id == ""


def test_staff_marking_the_request_resolved_takes_the_banner_away_and_the_visit_goes_on() -> None:
    session = signed_in()
    session.handle(Touch("help"))
    called = session.view.help_id
    session.handle(HelpAnswered(called, "acknowledged"))
    assert keys(session.handle(HelpAnswered(called, "resolved"))) == []
    assert not session.view.help_requested and not session.view.help_coming and session.view.screen == Screen.NOTICES
    assert keys(session.handle(Touch("help")))[-1] == "help.requested", "asked again: a new request"
    assert session.view.help_id != called
    session.handle(HelpAnswered(session.view.help_id, "resolved"))  # resolved at once, never "coming" first
    assert not session.view.help_requested


def test_a_citizen_waiting_for_staff_hears_it_again_each_minute_nobody_comes_and_is_not_timed_out() -> None:
    session = signed_in(idle_warning_s=60, idle_reset_s=90)
    session.handle(Tick(5.0))
    session.handle(Touch("help"))
    assert session.view.help_minutes == 0
    assert keys(session.handle(Tick(64.0))) == [] and session.view.idle_seconds_left is None
    again = session.handle(Tick(65.0))
    assert keys(again) == ["help.requested"] and not again[0].interrupt, "said after a notice read aloud, not over it"
    assert session.view.help_minutes == 1 and session.view.screen == Screen.NOTICES
    assert keys(session.handle(Tick(100.0))) == [] and session.view.idle_seconds_left is None, "not idle: waiting"
    assert keys(session.handle(Tick(125.0))) == ["help.requested"] and session.view.help_minutes == 2
    session.handle(HelpAnswered(session.view.help_id, "acknowledged"))
    assert keys(session.handle(Tick(185.0))) == [], "staff are coming: not said again"
    assert session.view.help_minutes == 3 and session.view.screen == Screen.NOTICES
    session.handle(Tick(5.0 + HELP_HOLDS_S))
    assert not session.view.help_requested, "nobody came in ten minutes: the request lapses"
    assert session.handle(Tick(5.0 + HELP_HOLDS_S + 59)) == [] and session.view.screen == Screen.NOTICES
    assert keys(session.handle(Tick(5.0 + HELP_HOLDS_S + 60))) == ["idle.warning"], "then the idle timer, from then"


def test_a_wrong_pin_without_a_count_is_said_without_a_blank() -> None:
    session = new_session()
    insert(session)
    enter_pin(session, "000000")
    assert keys(session.handle(PinChecked(ok=False, tries_left=None, blocked=False))) == ["pin.wrong_plain"]


def test_feedback_is_confirmed_without_the_greeting_talking_over_it() -> None:
    session = signed_in()
    session.handle(Touch("open_notice", session.view.notices[0].id))
    assert keys(session.handle(Touch("mark_read"))) == ["detail.read_done"]


def test_louder_and_quieter_step_the_citizens_volume_say_the_prompt_again_and_end_with_the_visit() -> None:
    session = signed_in()
    effects = session.handle(Touch("louder"))
    assert session.view.prefs.gain_db == 3.0 and keys(effects), "the screen's prompt again, one step louder"
    for _ in range(5):
        session.handle(Touch("louder"))
    assert session.view.prefs.gain_db == 6.0, "two steps at most"
    for _ in range(3):
        session.handle(Touch("quieter"))
    assert session.view.prefs.gain_db == -3.0
    session.handle(Touch("finish"))
    session.handle(CardRemoved(READER))
    assert session.view.prefs.gain_db == 0.0 and session.view.prefs == Preferences(), "the next citizen: the hall's"


def test_mandarin_or_cantonese_is_the_citizens_for_the_visit_and_the_halls_again_after() -> None:
    session = new_session(chinese_voices=("zh_CN", "yue"))
    assert session.view.prefs.speech_language == "zh_CN"
    assert keys(session.handle(Touch("chinese_voice", "yue"))) == ["attract.prompt"], "the prompt again, in Cantonese"
    assert session.view.prefs.speech_language == "yue"
    assert keys(session.handle(Touch("chinese_voice", "yue"))) == ["attract.prompt"], "粤语 again: said again"
    assert session.view.prefs.speech_language == "yue", "a second tap on the chosen voice keeps it"
    session.handle(Touch("chinese_voice", "zh_CN"))
    assert session.view.prefs.speech_language == "zh_CN"
    assert keys(session.handle(Touch("chinese_voice"))) == ["attract.prompt"], "none named: the next, Cantonese"
    assert session.view.prefs.speech_language == "yue" and session.view.prefs.language == "zh_CN", "screen stays"
    insert(session)
    assert session.view.prefs.speech_language == "yue", "the whole visit in Cantonese"
    session.handle(Touch("language"))
    assert session.view.prefs.speech_language == "en", "English on an English screen"
    session.handle(Touch("language"))
    assert session.view.prefs.speech_language == "yue"
    session.handle(CardRemoved(READER))
    assert session.view.screen == Screen.ATTRACT and session.view.prefs == Preferences(), "the next citizen: Mandarin"


def test_without_a_second_chinese_voice_the_toggle_does_nothing() -> None:
    session = new_session()
    assert session.handle(Touch("chinese_voice")) == [] and session.view.prefs.speech_language == "zh_CN"


# -- the printed slip ---------------------------------------------------------------------------
HALL_PLACE = Place(name="朝阳区社会保障服务大厅", address="朝阳路12号", counter="3号窗口")


def opened_first(session: Session) -> Notice:
    first = session.view.notices[0]
    session.handle(Touch("open_notice", first.id))
    assert session.view.screen == Screen.DETAIL
    return first


def test_print_makes_the_slip_of_the_open_notice_and_says_when_it_is_out() -> None:
    session = signed_in(place=HALL_PLACE, kiosk_id="hall-3")
    session.handle(PrinterChanged("ready"))
    first = opened_first(session)
    effects = session.handle(Touch("print"))
    [job] = [e for e in effects if isinstance(e, PrintSlip)]
    [slip] = job.slips
    assert job.job.endswith(first.id) and slip.title == first.title and "hall-3" in slip.printed
    assert slip.where == ("到哪里办：朝阳路12号", "窗口：3号窗口") and slip.greeting == ""
    assert keys(effects) == ["detail.printing"] and session.view.printing == "printing"
    assert session.handle(Touch("print")) == [], "one slip at a time: a second tap while it prints does nothing"
    assert keys(session.handle(SlipPrinted(job.job, ok=True, state="ready"))) == ["detail.printed"]
    assert session.view.printing == "printed" and session.view.screen == Screen.DETAIL


def test_a_slip_greets_by_surname_only_where_the_hall_allows_it() -> None:
    allowed = replace(HALL_PLACE, print_greeting=True)
    for place, greeting in ((HALL_PLACE, ""), (allowed, "王先生，您好：")):
        session = signed_in(place=place)
        session.handle(PrinterChanged("ready"))
        opened_first(session)
        [job] = [e for e in session.handle(Touch("print")) if isinstance(e, PrintSlip)]
        assert job.slips[0].greeting == greeting
        assert "王明" not in repr(job.slips) and session.view.greeting == ("王", "male")


@pytest.mark.parametrize("state", ["paper_out", "cover_open", "cutter_jam", "offline", "absent", "not_configured"])
def test_without_a_printer_that_can_print_there_is_nothing_to_tap(state: str) -> None:
    session = signed_in()
    session.handle(PrinterChanged(state))
    opened_first(session)
    assert not session.view.can_print and session.handle(Touch("print")) == []


def test_a_slip_that_did_not_come_out_says_why_its_reprint_says_it_is_out_and_a_late_answer_changes_nothing() -> None:
    session = signed_in()
    session.handle(PrinterChanged("ready"))
    opened_first(session)
    [job] = [e for e in session.handle(Touch("print")) if isinstance(e, PrintSlip)]
    assert keys(session.handle(SlipPrinted(job.job, ok=False, state="paper_out"))) == ["printer.paper_out"]
    assert session.view.printing == "failed" and not session.view.can_print
    session.handle(PrinterChanged("ready"))  # staff changed the roll; the kiosk reprints it by itself, once
    assert keys(session.handle(SlipPrinted(job.job, ok=True, state="ready", again=True))) == ["detail.printed"]
    session.handle(Touch("back"))
    assert session.handle(SlipPrinted(job.job, ok=True, state="ready")) == [] and session.view.printing == ""


def test_print_due_on_the_list_prints_a_slip_of_each_notice_with_a_deadline_most_urgent_first() -> None:
    session = signed_in(place=HALL_PLACE)
    session.handle(PrinterChanged("ready"))
    due = session.view.due
    assert due and all(n.deadline for n in due) and len(due) < len(session.view.notices), "only what has a date"
    assert [n.id for n in due] == [n.id for n in session.view.notices if n.deadline][:DUE_PRINTED]
    effects = session.handle(Touch("print_due"))
    [job] = [e for e in effects if isinstance(e, PrintSlip)]
    assert job.job.endswith(DUE_JOB) and [s.title for s in job.slips] == [n.title for n in due]
    assert keys(effects) == ["detail.printing"] and session.view.printing == "printing"
    assert session.handle(Touch("print_due")) == [], "one job at a time"
    session.handle(Touch("open_notice", due[0].id))
    assert session.view.printing == "", "the list's job is not the open notice's"
    session.handle(Touch("back"))
    assert session.view.printing == "printing", "still printing when the list is shown again"
    assert session.handle(Touch("print_due")) == [], "and a tap then prints it all a second time: no"
    assert keys(session.handle(SlipPrinted(job.job, ok=True, state="ready"))) == ["detail.printed"]
    assert session.view.printing == "printed" and session.view.screen == Screen.NOTICES
    [again] = [e for e in session.handle(Touch("print_due")) if isinstance(e, PrintSlip)]  # a copy for the family
    assert again.job == job.job


def test_a_slip_that_comes_out_after_its_citizen_has_gone_is_never_announced_to_the_next() -> None:
    session = signed_in()
    session.handle(PrinterChanged("ready"))
    [job] = [e for e in session.handle(Touch("print_due")) if isinstance(e, PrintSlip)]
    session.handle(CardRemoved(READER))  # the card out while the (slow) printer works
    insert(session, "wang-ming")  # the next citizen (the same card would do: it is a new visit)
    enter_pin(session)
    session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
    session.handle(Touch("continue"))
    assert session.view.screen == Screen.NOTICES
    assert session.handle(SlipPrinted(job.job, ok=True, state="ready")) == [], "the last citizen's job"
    assert session.view.printing == "" and session.handle(Touch("print_due")), "this citizen may print theirs"


def test_print_due_prints_five_slips_at_most_and_nothing_without_a_printer(tmp_path: Path) -> None:
    many = [{**BROADCAST[i % len(BROADCAST)], "id": f"due-{i:02d}", "deadline": f"2027-01-{i + 1:02d}"}
            for i in range(30)]  # fmt: skip
    session = signed_in()
    session.handle(BroadcastChanged(cache_of(tmp_path / "b.sqlite3", parse_notices(many)[0]), 1.0, False))
    assert session.handle(Touch("print_due")) == [], "no printer that can print: nothing happens"
    session.handle(PrinterChanged("ready"))
    [job] = [e for e in session.handle(Touch("print_due")) if isinstance(e, PrintSlip)]
    assert len(job.slips) == DUE_PRINTED
