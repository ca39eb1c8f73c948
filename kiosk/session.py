"""The citizen's session: one explicit state machine, driven by named events, with no window and no device.

`Session.handle(event)` takes what happened (a reader event, a touch, a tick of the clock, the
backend's answer) and returns the effects the kiosk must carry out (check the PIN, fetch the
personal notices, queue a receipt, speak a prompt); `Session.view` is everything a screen shows.
The transitions are listed in docs/session.md beside a picture of them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from kiosk.card import CardData, CardFault
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    PrinterChanged,
    PsamChanged,
    ReaderEvent,
    ReadersChanged,
    ReaderServiceLost,
    SlipPrinted,
)
from kiosk.notices import SHOWN_FIRST, Notice, rank_key, ranked
from kiosk.slip import CAN_PRINT, Place, Slip, slip_for

# Notices of a person's list read at a time (tens of notices as a rule, so the pages turn with no query); a page
# past them reads on to it. The attract screen's headlines are read a page at a time.
FETCHED = 100
DUE_JOB = "due"  # the list's 打印要办的事, as a print job's name within a visit (a notice's slip: its id)
DUE_PRINTED = 5  # slips at most in one 打印要办的事: a long roll for a hostile or muddled list helps no one


class BroadcastNotices(Protocol):
    """The broadcast cache as the session asks it (kiosk.cache.CachedNotices): a ranked page, and a count."""

    def ranked(
        self, now: float, limit: int | None, age: int | None = None, region: str | None = None,
        muted: Iterable[str] = (), left_out: Iterable[str] = (),
    ) -> list[Notice]: ...  # fmt: skip

    def count(
        self, now: float, age: int | None = None, region: str | None = None,
        muted: Iterable[str] = (), left_out: Iterable[str] = (),
    ) -> int: ...  # fmt: skip


class Screen(enum.Enum):
    ATTRACT = "attract"  # 请插入社保卡
    READING = "reading"  # 正在读卡，请不要拔卡
    PIN = "pin"  # the card's PIN pad
    CARD_EXPIRED = "card_expired"  # read, but expired: a renewal hint, then the notices
    NOTICES = "notices"  # greeting and ranked notices
    DETAIL = "detail"  # one notice
    GOODBYE = "goodbye"  # 请取回您的社保卡, one-tap rating
    NO_SERVICE = "no_service"  # pcscd does not answer: device maintenance
    NO_READER = "no_reader"  # no reader attached
    CARD_PROBLEM = "card_problem"  # foreign, unreadable, pulled out, locked, not genuine, a PSAM fault
    PIN_BLOCKED = "pin_blocked"


# -- events the session takes, besides the reader's (kiosk.events) --------------------------------
@dataclass(frozen=True)
class Touch:
    """The citizen touched something. `action` is one of ACTIONS; `arg` is a digit, notice id or rating."""

    action: str
    arg: str = ""


ACTIONS = (
    "pin_digit", "pin_delete", "open_notice", "back", "more", "mark_read", "mute_category", "remind_later",
    "finish", "rating", "continue", "help", "repeat", "read_aloud", "large_text", "high_contrast", "voice",
    "language", "slower", "page", "louder", "quieter", "chinese_voice", "print", "print_due",
)  # fmt: skip


@dataclass(frozen=True)
class Tick:
    """The clock, about once a second; `now` is monotonic seconds."""

    now: float


@dataclass(frozen=True)
class Listening:
    """The citizen is hearing `seconds` of speech from now: that is not being idle."""

    seconds: float


@dataclass(frozen=True)
class PersonalLoaded:
    """The backend's answer for the visit that asked (see FetchPersonal.visit)."""

    visit: int
    subject: str
    notices: tuple[Notice, ...]
    muted: frozenset[str] = frozenset()
    snoozed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PersonalFailed:
    visit: int
    reason: str  # one sentence for the log; the citizen sees a plain "not available now"


@dataclass(frozen=True)
class BroadcastChanged:
    """The worker committed a sync that changed the cache (or the kiosk started): read what the screen shows again."""

    broadcast: BroadcastNotices
    last_sync: float | None  # epoch seconds of the last successful sync, for "信息更新于 …"
    stale: bool


@dataclass(frozen=True)
class HelpAnswered:
    """Hall staff took the help request `help_id` (acknowledged) or already finished it (resolved)."""

    help_id: str
    state: str


SessionEvent = (
    ReaderEvent
    | Touch
    | Tick
    | Listening
    | PersonalLoaded
    | PersonalFailed
    | BroadcastChanged
    | HelpAnswered
    | PrinterChanged
    | SlipPrinted
)


# -- effects the session asks for ---------------------------------------------------------------
@dataclass(frozen=True)
class VerifyPin:
    pin: str


@dataclass(frozen=True)
class FetchPersonal:
    """Ask the backend for this cardholder's notices. `visit` numbers the card in the reader, so that a
    late answer for a card that has left is never shown to the next citizen."""

    ssn: str
    card_no: str
    visit: int


@dataclass(frozen=True)
class QueueReceipt:
    notice_id: str | None
    subject: str | None
    action: str
    value: str | None


@dataclass(frozen=True)
class QueueAssist:
    """Call staff, and listen for their answer to `help_id` (the id the hall server files it under)."""

    screen: str
    help_id: str


@dataclass(frozen=True)
class Speak:
    """A prompt by key (texts live with the screens, in both languages); `params` fill its blanks."""

    key: str
    params: tuple[tuple[str, str], ...] = ()
    interrupt: bool = True


@dataclass(frozen=True)
class SpeakNotice:
    notice_id: str
    interrupt: bool = True


@dataclass(frozen=True)
class StopSpeaking:
    pass


@dataclass(frozen=True)
class PrintSlip:
    """Print `slips` (made here, from the notices and what the hall allows: never from the card) as one job:
    `job` names the visit and the page ("7:<notice id>", or "7:due" for the list's 打印要办的事)."""

    job: str
    slips: tuple[Slip, ...]


Effect = VerifyPin | FetchPersonal | QueueReceipt | QueueAssist | Speak | SpeakNotice | StopSpeaking | PrintSlip


# -- what the screens show ------------------------------------------------------------------
@dataclass(frozen=True)
class Preferences:
    """The citizen's toggles; back to the hall's defaults after every session."""

    language: str = "zh_CN"
    large_text: bool = False
    high_contrast: bool = False
    voice: bool = True
    slower: bool = False
    loudness: int = 0  # the citizen's louder (+) / quieter (-) steps, VOLUME_STEP_DB each
    chinese_voice: str = "zh_CN"  # how the Chinese prompts are said: "zh_CN" Mandarin, "yue" Cantonese

    @property
    def gain_db(self) -> float:
        return self.loudness * VOLUME_STEP_DB

    @property
    def speech_language(self) -> str:
        """The voice's language: English on an English screen, else the chosen Chinese (the screen stays Simplified)."""
        return "en" if self.language == "en" else self.chinese_voice


@dataclass(frozen=True)
class View:
    screen: Screen = Screen.ATTRACT
    prefs: Preferences = Preferences()
    headlines: tuple[Notice, ...] = ()  # attract: the first broadcast notices for everyone
    broadcast_updated: float | None = None
    broadcast_stale: bool = False
    greeting: tuple[str, str] = ("", "")  # (surname, "male"/"female"/"unknown"); empty when off
    notices: tuple[Notice, ...] = ()  # the ranked list up to this page at least, shown SHOWN_FIRST at a time
    notice_count: int = 0  # how many the ranked list has in all
    page: int = 0  # which five: "more" turns to the next, "back" to the one before
    read_ids: frozenset[str] = frozenset()
    personal_loading: bool = False
    personal_unavailable: bool = False
    detail: Notice | None = None
    pin_length: int = 0
    tries_left: int | None = None
    pin_checking: bool = False
    pin_wrong: bool = False
    card_fault: CardFault | None = None
    expired_on: date | None = None
    idle_seconds_left: int | None = None  # shown (and spoken) while the idle warning is up
    rated: bool = False
    help_requested: bool = False  # until the visit ends: staff come to the kiosk, whatever screen it shows
    help_id: str = ""
    help_coming: bool = False  # staff pressed 我来处理 on the hall console
    help_minutes: int = 0  # whole minutes since staff were called: the banner's "3 分钟前已通知"
    in_session: bool = False  # a cardholder is known (PIN checked when the hall asks): feedback buttons work
    chinese_voices: tuple[str, ...] = ("zh_CN",)  # the hall's ([voice] languages): two or more show 普通话/粤语
    printer: str = "not_configured"  # kiosk.slip.PrinterState: 打印 on the detail screen while it can print
    printing: str = ""  # this page's print job (the notice's slip, the list's): "", "printing", "printed", "failed"

    @property
    def can_print(self) -> bool:
        return self.printer in CAN_PRINT

    @property
    def due(self) -> tuple[Notice, ...]:
        """What the list's 打印要办的事 prints: the notices with a deadline, most urgent first, DUE_PRINTED at most."""
        return tuple(notice for notice in self.notices if notice.deadline)[:DUE_PRINTED]

    @property
    def shown_notices(self) -> tuple[Notice, ...]:
        return self.notices[self.page * SHOWN_FIRST : (self.page + 1) * SHOWN_FIRST]

    @property
    def more_count(self) -> int:
        """Notices after the ones shown."""
        return max(0, self.notice_count - (self.page + 1) * SHOWN_FIRST)


@dataclass(frozen=True)
class HallSettings:
    require_pin: bool = True
    idle_warning_s: float = 60.0
    idle_reset_s: float = 90.0
    greet_by_name: bool = True
    defaults: Preferences = Preferences()
    chinese_voices: tuple[str, ...] = ("zh_CN",)  # [voice] languages; the first is defaults.chinese_voice
    take_card_every_s: float = 8.0  # how often "请取回您的社保卡" is said until the card is out
    place: Place = field(default_factory=Place)  # [hall]: name, address, counter, whether a slip may greet
    kiosk_id: str = "kiosk-01"  # printed at the foot of a slip


PIN_DIGITS = 6
VOLUME_STEP_DB, VOLUME_STEPS = 3.0, 2  # louder/quieter: 3 dB a tap, two taps each way
PULLED_EARLY_SHOWN_S = 15.0  # "please insert the card again and leave it in" stays this long
HELP_AGAIN_S = 60.0  # "已经通知工作人员" said again each minute nobody has taken the request
HELP_HOLDS_S = 600.0  # while staff are called the idle timer waits (the citizen waits for a person), this long at most
SESSION_SCREENS = {Screen.PIN, Screen.CARD_EXPIRED, Screen.NOTICES, Screen.DETAIL}  # the idle timer runs here


@dataclass
class _Personal:
    """What the session knows of the cardholder: dropped whole when the card leaves or time runs out."""

    card: CardData
    pin: str = ""
    pin_ok: bool = False
    subject: str | None = None
    personal: tuple[Notice, ...] = ()
    muted: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)


class Session:
    def __init__(self, hall: HallSettings, today: Callable[[], datetime]) -> None:
        self.hall = hall
        self.today = today  # wall-clock time with a time zone, for ages, expiry and notice validity
        self.view = View(prefs=hall.defaults, chinese_voices=hall.chinese_voices)
        self._broadcast: BroadcastNotices | None = None
        self._person: _Personal | None = None
        self._now = 0.0
        self._last_touch = 0.0
        self._help_asked = self._help_said = 0.0  # when staff were called, and last told so (the session's clock)
        self._last_take_card = 0.0
        self._entered = 0.0  # when the current screen came up
        self._detail_from = Screen.NOTICES
        self._card_in = False
        self.visit = 0  # counts cards read; tags the backend's answers
        self._printing: set[str] = set()  # the print jobs sent and not yet answered ("visit:notice id", "visit:due")

    # ---------------------------------------------------------------------------------------
    def handle(self, event: SessionEvent) -> list[Effect]:
        """Take one event; return the effects to carry out, in order."""
        handlers: dict[type, Callable[[Any], list[Effect]]] = {
            ReaderServiceLost: self._on_service_lost,
            ReadersChanged: self._on_readers_changed,
            CardInserted: self._on_card_inserted,
            CardUnreadable: self._on_card_unreadable,
            CardRead: self._on_card_read,
            CardRemoved: self._on_card_removed,
            PinChecked: self._on_pin_checked,
            PsamChanged: lambda event: [],  # the PSAM slot is staff's business; a card read says what it meant
            PrinterChanged: self._on_printer_changed,
            SlipPrinted: self._on_slip_printed,
            PersonalLoaded: self._on_personal_loaded,
            PersonalFailed: self._on_personal_failed,
            BroadcastChanged: self._on_broadcast_changed,
            HelpAnswered: self._on_help_answered,
            Tick: self._on_tick,
            Listening: self._on_listening,
            Touch: self._on_touch,
        }
        return handlers[type(event)](event)

    # -- the reader --------------------------------------------------------------------------
    def _on_service_lost(self, event: ReaderServiceLost) -> list[Effect]:
        self._wipe()
        return self._go(Screen.NO_SERVICE)

    def _on_readers_changed(self, event: ReadersChanged) -> list[Effect]:
        if event.selected is None:
            self._wipe()
            return self._go(Screen.NO_READER)
        if self.view.screen in (Screen.NO_SERVICE, Screen.NO_READER):
            return self._go(Screen.ATTRACT)
        return []

    def _on_card_inserted(self, event: CardInserted) -> list[Effect]:
        self._card_in = True
        self._wipe()
        return self._go(Screen.READING)

    def _on_card_unreadable(self, event: CardUnreadable) -> list[Effect]:
        self._wipe()
        self.view = replace(self.view, card_fault=event.fault)
        return self._go(Screen.CARD_PROBLEM)

    def _on_card_read(self, event: CardRead) -> list[Effect]:
        self.visit += 1
        self._person = _Personal(card=event.card)
        self._touched()
        if self.hall.require_pin:
            return self._go(Screen.PIN)
        return self._after_pin()

    def _on_card_removed(self, event: CardRemoved) -> list[Effect]:
        self._card_in = False
        pulled_early = self.view.screen == Screen.CARD_PROBLEM and self.view.card_fault == CardFault.REMOVED_DURING_READ
        if pulled_early or self.view.screen in (Screen.NO_SERVICE, Screen.NO_READER):
            return []  # "please insert it again" stays up a while (see _on_Tick)
        self._wipe()
        self.view = replace(self.view, prefs=self.hall.defaults)  # every session starts with the hall's defaults
        return [StopSpeaking(), *self._go(Screen.ATTRACT)]

    def _on_pin_checked(self, event: PinChecked) -> list[Effect]:
        if self._person is None or self.view.screen != Screen.PIN:
            return []
        if event.ok:
            self._person.pin_ok = True
            return self._after_pin()
        if event.blocked:
            self._wipe()
            return self._go(Screen.PIN_BLOCKED)
        self.view = replace(self.view, pin_checking=False, pin_wrong=True, pin_length=0, tries_left=event.tries_left)
        if event.tries_left is None:  # the card did not say how many tries are left
            return [Speak("pin.wrong_plain")]
        key = "pin.last_try" if event.tries_left == 1 else "pin.wrong"
        return [Speak(key, (("tries", str(event.tries_left)),))]

    def _after_pin(self) -> list[Effect]:
        assert self._person is not None
        card = self._person.card
        surname = card.surname if self.hall.greet_by_name else ""
        self.view = replace(
            self.view, greeting=(surname, card.gender), personal_loading=True, personal_unavailable=False,
            pin_checking=False, pin_wrong=False, pin_length=0,
        )  # fmt: skip
        self._rerank()
        fetch = FetchPersonal(card.ssn, card.card_no, self.visit)
        if card.expired(self.today().date()):
            self.view = replace(self.view, expired_on=card.expiry_date)
            return [fetch, *self._go(Screen.CARD_EXPIRED)]
        return [fetch, *self._go(Screen.NOTICES)]

    # -- the backend -------------------------------------------------------------------------
    def _on_personal_loaded(self, event: PersonalLoaded) -> list[Effect]:
        if self._person is None or event.visit != self.visit:
            return []  # the card left before the answer came (perhaps another is in now): drop it
        self._person.subject = event.subject
        self._person.personal = event.notices
        self._person.muted |= event.muted
        self._person.hidden |= event.snoozed
        self.view = replace(self.view, personal_loading=False)
        self._rerank()
        if self.view.screen == Screen.NOTICES and self.view.notices:
            return [SpeakNotice(self.view.notices[0].id, interrupt=False)]  # after the greeting, not over it
        return []

    def _on_personal_failed(self, event: PersonalFailed) -> list[Effect]:
        if self._person is None or event.visit != self.visit:
            return []
        self.view = replace(self.view, personal_loading=False, personal_unavailable=True)
        return [Speak("notices.personal_unavailable", interrupt=False)] if self.view.screen == Screen.NOTICES else []

    def _on_broadcast_changed(self, event: BroadcastChanged) -> list[Effect]:
        self._broadcast = event.broadcast
        self.view = replace(self.view, broadcast_updated=event.last_sync, broadcast_stale=event.stale)
        self._rerank()
        return []

    # -- the printer -------------------------------------------------------------------------
    def _on_printer_changed(self, event: PrinterChanged) -> list[Effect]:
        self.view = replace(self.view, printer=event.state)
        return []

    def _on_slip_printed(self, event: SlipPrinted) -> list[Effect]:
        self._printing.discard(event.job)
        if event.job != self._job_of(self.view.screen):
            return []  # the citizen has moved on (a reprint after a fault then waits in the tray, naming no one)
        if event.ok:
            self.view = replace(self.view, printing="printed")
            return [Speak("detail.printed")]
        self.view = replace(self.view, printing="failed", printer=event.state)
        return [Speak(f"printer.{event.state}")]

    def _touch_print(self, arg: str) -> list[Effect]:
        notice = self.view.detail
        return self._print((notice,)) if self.view.screen == Screen.DETAIL and notice else []

    def _touch_print_due(self, arg: str) -> list[Effect]:
        return self._print(self.view.due) if self.view.screen == Screen.NOTICES else []

    def _print(self, notices: tuple[Notice, ...]) -> list[Effect]:
        view, place, job = self.view, self.hall.place, self._job_of(self.view.screen)
        if not notices or not view.can_print or job is None or job in self._printing:
            return []  # one job of a page at a time: a second tap, or one after going there and back, prints nothing
        self._printing.add(job)
        greeting = view.greeting if place.print_greeting else ("", "")
        now = self.today()
        slips = tuple(slip_for(notice, place, self.hall.kiosk_id, now, greeting) for notice in notices)
        self.view = replace(view, printing="printing")
        return [PrintSlip(job, slips), Speak("detail.printing")]

    def _job_of(self, screen: Screen) -> str | None:
        """The print job whose news `screen` shows: the open notice's slip, or the list's slips of what is due. It
        names the visit: a slip that comes out after its citizen has gone is never announced to the next one."""
        if screen == Screen.DETAIL and self.view.detail is not None:
            return f"{self.visit}:{self.view.detail.id}"
        return f"{self.visit}:{DUE_JOB}" if screen == Screen.NOTICES else None

    # -- the clock ---------------------------------------------------------------------------
    def _on_tick(self, event: Tick) -> list[Effect]:
        self._now = event.now
        return self._help_clock() + self._idle_clock()

    def _help_clock(self) -> list[Effect]:
        """While staff are called: the banner's minutes, the words said again each minute nobody has taken it, and
        the request let go after HELP_HOLDS_S (the idle timer starts again from then)."""
        view = self.view
        if not view.help_requested:
            return []
        waited = self._now - self._help_asked
        if waited >= HELP_HOLDS_S:
            self._help_ended()
            return []
        if int(waited // 60) != view.help_minutes:
            self.view = replace(view, help_minutes=int(waited // 60))
        if not view.help_coming and self._now - self._help_said >= HELP_AGAIN_S:
            self._help_said = self._now
            return [Speak("help.requested", interrupt=False)]
        return []

    def _idle_clock(self) -> list[Effect]:
        screen = self.view.screen
        if screen == Screen.CARD_PROBLEM and not self._card_in and self._now - self._entered >= PULLED_EARLY_SHOWN_S:
            self._wipe()
            self.view = replace(self.view, prefs=self.hall.defaults)
            return self._go(Screen.ATTRACT)
        idle_attract = screen == Screen.ATTRACT and self._now - self._last_touch >= self.hall.idle_warning_s
        if idle_attract and self.view.prefs != self.hall.defaults:
            # Someone changed the toggles and walked away: the next citizen starts with the hall's defaults.
            self.view = replace(self.view, prefs=self.hall.defaults)
            return []
        if screen == Screen.GOODBYE and self._card_in:
            if self._now - self._last_take_card >= self.hall.take_card_every_s:
                self._last_take_card = self._now
                return [Speak("goodbye.take_card")]
            return []
        if screen not in SESSION_SCREENS or self.view.help_requested:  # waiting for staff is not being idle
            return []
        idle = self._now - self._last_touch
        if idle >= self.hall.idle_reset_s:
            return self._end_session()
        if idle >= self.hall.idle_warning_s:
            left = int(self.hall.idle_reset_s - idle + 0.999)
            first = self.view.idle_seconds_left is None
            self.view = replace(self.view, idle_seconds_left=left)
            return [Speak("idle.warning", (("seconds", str(left)),))] if first else []
        return []

    def _on_listening(self, event: Listening) -> list[Effect]:
        # The idle clock starts after the speech ends: a long notice read aloud is not a citizen gone.
        self._last_touch = max(self._last_touch, self._now + event.seconds)
        return []

    # -- touches -----------------------------------------------------------------------------
    def _on_touch(self, event: Touch) -> list[Effect]:
        if event.action not in ACTIONS:
            return []
        self._touched()
        return getattr(self, "_touch_" + event.action)(event.arg)

    def _touch_page(self, arg: str) -> list[Effect]:
        return []  # turning a page of a long notice: only that the citizen is there

    def _touch_continue(self, arg: str) -> list[Effect]:
        if self.view.screen == Screen.CARD_EXPIRED:
            return self._go(Screen.NOTICES)
        return [StopSpeaking()]  # the idle warning goes away with any touch

    def _touch_pin_digit(self, arg: str) -> list[Effect]:
        person = self._person
        if self.view.screen != Screen.PIN or person is None or self.view.pin_checking:
            return []
        if len(arg) != 1 or not arg.isdigit() or len(person.pin) >= PIN_DIGITS:
            return []
        person.pin += arg
        self.view = replace(self.view, pin_length=len(person.pin), pin_wrong=False)
        if len(person.pin) < PIN_DIGITS:
            return [StopSpeaking()]
        pin, person.pin = person.pin, ""  # the PIN leaves the session the moment it is sent
        self.view = replace(self.view, pin_checking=True)
        return [VerifyPin(pin), Speak("pin.checking")]

    def _touch_pin_delete(self, arg: str) -> list[Effect]:
        person = self._person
        if self.view.screen != Screen.PIN or person is None or self.view.pin_checking:
            return []
        person.pin = person.pin[:-1]
        self.view = replace(self.view, pin_length=len(person.pin))
        return []

    def _touch_open_notice(self, arg: str) -> list[Effect]:
        notice = next((n for n in self.view.notices + self.view.headlines if n.id == arg), None)
        if notice is None or self.view.screen not in (Screen.NOTICES, Screen.ATTRACT):
            return []
        self._detail_from = self.view.screen
        self.view = replace(self.view, detail=notice)
        return self._go(Screen.DETAIL)

    def _touch_back(self, arg: str) -> list[Effect]:
        if self.view.screen == Screen.DETAIL:
            return self._go(self._detail_from)
        if self.view.screen == Screen.NOTICES and self.view.page > 0:
            self.view = replace(self.view, page=self.view.page - 1)
        return []

    def _touch_more(self, arg: str) -> list[Effect]:
        if self.view.screen == Screen.NOTICES and self.view.more_count:
            self.view = replace(self.view, page=self.view.page + 1)
            if len(self.view.notices) < min(self.view.notice_count, (self.view.page + 1) * SHOWN_FIRST):
                self._rerank()  # a page past the ones read: read on to it
        return []

    def _feedback(self, action: str, value: str | None) -> list[Effect]:
        notice, person = self.view.detail, self._person
        if self.view.screen != Screen.DETAIL or notice is None or person is None:
            return []
        # Without the backend's subject (personal notices not loaded) the receipt cannot be delivered to anyone.
        effects: list[Effect] = [QueueReceipt(notice.id, person.subject, action, value)] if person.subject else []
        if action == "mute_category" and notice.priority != "urgent":
            person.muted.add(notice.category)
        if action == "remind_later":
            person.hidden.add(notice.id)
        read = self.view.read_ids | {notice.id} if action == "read" else self.view.read_ids
        self.view = replace(self.view, read_ids=read)
        self._rerank()
        return [*effects, Speak(f"detail.{action}_done"), *self._go(Screen.NOTICES, prompt=False)]

    def _touch_mark_read(self, arg: str) -> list[Effect]:
        return self._feedback("read", None)

    def _touch_mute_category(self, arg: str) -> list[Effect]:
        notice = self.view.detail
        return self._feedback("mute_category", notice.category if notice else None)

    def _touch_remind_later(self, arg: str) -> list[Effect]:
        return self._feedback("remind_later", "7")

    def _touch_finish(self, arg: str) -> list[Effect]:
        if self.view.screen not in SESSION_SCREENS | {Screen.CARD_PROBLEM, Screen.PIN_BLOCKED}:
            return []
        return self._end_session()

    def _touch_rating(self, arg: str) -> list[Effect]:
        if self.view.screen != Screen.GOODBYE or self.view.rated or arg not in ("good", "ok", "bad"):
            return []
        self.view = replace(self.view, rated=True)
        return [QueueReceipt(None, None, "rating", arg), Speak("goodbye.thanks")]

    def _touch_help(self, arg: str) -> list[Effect]:
        if self.view.help_requested:  # staff are already called: say so again, call once
            return [Speak("help.coming" if self.view.help_coming else "help.requested")]
        import uuid  # here, not at the top: off the way to the first screen (cold start)

        help_id = str(uuid.uuid4())
        self._help_asked = self._help_said = self._now
        self.view = replace(self.view, help_requested=True, help_id=help_id, help_minutes=0, idle_seconds_left=None)
        return [QueueAssist(self.view.screen.value, help_id), Speak("help.requested")]

    def _on_help_answered(self, event: HelpAnswered) -> list[Effect]:
        view = self.view
        if event.help_id != view.help_id or not view.help_requested:
            return []  # a request of a visit that has ended
        if event.state == "resolved":  # 已解决 on the console: staff have been; the banner goes
            self._help_ended()
            return []
        if event.state != "acknowledged" or view.help_coming:
            return []  # heard already
        self.view = replace(view, help_coming=True)
        return [Speak("help.coming")]

    def _help_over(self) -> None:
        self.view = replace(self.view, help_requested=False, help_id="", help_coming=False, help_minutes=0)

    def _help_ended(self) -> None:
        """Resolved, or lapsed, within the visit: the banner goes, and the idle timer starts from now."""
        self._help_over()
        self._last_touch = max(self._last_touch, self._now)

    def _touch_repeat(self, arg: str) -> list[Effect]:
        if self.view.screen == Screen.DETAIL and self.view.detail is not None:
            return [SpeakNotice(self.view.detail.id)]
        return self._prompt()

    def _touch_read_aloud(self, arg: str) -> list[Effect]:
        return self._touch_repeat(arg)

    def _toggle(self, name: str) -> list[Effect]:
        prefs = self.view.prefs
        self.view = replace(self.view, prefs=replace(prefs, **{name: not getattr(prefs, name)}))
        return []

    def _touch_large_text(self, arg: str) -> list[Effect]:
        return self._toggle("large_text")

    def _touch_high_contrast(self, arg: str) -> list[Effect]:
        return self._toggle("high_contrast")

    def _touch_slower(self, arg: str) -> list[Effect]:
        return self._toggle("slower")

    def _touch_louder(self, arg: str) -> list[Effect]:
        return self._step_loudness(+1)

    def _touch_quieter(self, arg: str) -> list[Effect]:
        return self._step_loudness(-1)

    def _step_loudness(self, step: int) -> list[Effect]:
        """One step louder or quieter, and the screen's prompt again so the citizen hears the new level."""
        prefs = self.view.prefs
        level = max(-VOLUME_STEPS, min(VOLUME_STEPS, prefs.loudness + step))
        self.view = replace(self.view, prefs=replace(prefs, loudness=level, voice=True))
        return self._prompt()

    def _touch_voice(self, arg: str) -> list[Effect]:
        self._toggle("voice")
        return self._prompt() if self.view.prefs.voice else [StopSpeaking()]

    def _touch_language(self, arg: str) -> list[Effect]:
        language = "en" if self.view.prefs.language == "zh_CN" else "zh_CN"
        self.view = replace(self.view, prefs=replace(self.view.prefs, language=language))
        return self._prompt()

    def _touch_chinese_voice(self, arg: str) -> list[Effect]:
        """普通话 or 粤语: the voice tapped (none named: the hall's next), the screen's prompt said in it at once."""
        voices, prefs = self.view.chinese_voices, self.view.prefs
        if len(voices) < 2 or prefs.language == "en":
            return []
        if arg in voices:
            following = arg
        else:
            following = voices[(voices.index(prefs.chinese_voice) + 1) % len(voices)] if prefs.chinese_voice in voices \
                else voices[0]  # fmt: skip
        self.view = replace(self.view, prefs=replace(prefs, chinese_voice=following, voice=True))
        return self._prompt()

    # -- helpers -----------------------------------------------------------------------------
    def _touched(self) -> None:
        self._last_touch = self._now
        if self.view.idle_seconds_left is not None:
            self.view = replace(self.view, idle_seconds_left=None)

    def _go(self, screen: Screen, prompt: bool = True) -> list[Effect]:
        self._entered = self._now
        in_session = self._person is not None and (self._person.pin_ok or not self.hall.require_pin)
        # A slip's news is for its own page; a job still printing stays so when its page is shown again.
        printing = "printing" if self._job_of(screen) in self._printing else ""
        if screen == self.view.screen and self.view.printing != "printing":
            printing = self.view.printing
        self.view = replace(self.view, screen=screen, idle_seconds_left=None, in_session=in_session, printing=printing)
        if screen == Screen.ATTRACT:  # the visit is over: a new citizen has not asked for anyone
            self._help_over()
        if screen == Screen.GOODBYE:
            self._last_take_card = self._now
        return self._prompt() if prompt else []

    def _prompt(self) -> list[Effect]:
        """The screen's spoken prompt (every screen has one)."""
        view = self.view
        if view.screen == Screen.NOTICES:
            key = "notices.greeting_named" if view.greeting[0] else "notices.greeting"
            return [Speak(key, (("surname", view.greeting[0]), ("gender", view.greeting[1])))]
        if view.screen == Screen.CARD_PROBLEM and view.card_fault is not None:
            return [Speak(f"card_problem.{view.card_fault.value}")]
        if view.screen == Screen.PIN and view.tries_left is not None:
            return [Speak("pin.enter_tries", (("tries", str(view.tries_left)),))]
        if view.screen == Screen.DETAIL and view.detail is not None:
            return [SpeakNotice(view.detail.id)]
        return [Speak(f"{view.screen.value}.prompt")]

    def _end_session(self) -> list[Effect]:
        """Time is up or the citizen is done: wipe what we know of them; the card still has to come out."""
        self._wipe()
        if not self._card_in:
            self.view = replace(self.view, prefs=self.hall.defaults)
            return self._go(Screen.ATTRACT)
        return self._go(Screen.GOODBYE)

    def _wipe(self) -> None:
        self._person = None
        self._printing.clear()  # a late answer names the old visit: it is announced to no one
        self.view = replace(
            self.view, greeting=("", ""), notices=(), page=0, read_ids=frozenset(), detail=None,
            personal_loading=False, personal_unavailable=False, pin_length=0, tries_left=None, pin_checking=False,
            pin_wrong=False, card_fault=None, expired_on=None, idle_seconds_left=None, rated=False,
        )  # fmt: skip
        self._rerank()

    def _rerank(self) -> None:
        """The broadcast notices are asked of the cache, a page at a time; a person's own are few, and merged in."""
        now = self.today()
        moment, person, broadcast = now.timestamp(), self._person, self._broadcast
        if person is None:
            headlines = tuple(broadcast.ranked(moment, SHOWN_FIRST)) if broadcast else ()  # the attract shows 3
            self.view = replace(self.view, headlines=headlines, notices=(), notice_count=0)
            return
        # The cardholder's own notice of an id stands for a broadcast one of the same id.
        mine = ranked(person.personal, now, muted=person.muted, snoozed=person.hidden)
        limit = max(FETCHED, (self.view.page + 1) * SHOWN_FIRST)
        asked = dict(
            age=person.card.age(now.date()), region=person.card.region, muted=person.muted,
            left_out=person.hidden | {n.id for n in person.personal},
        )  # fmt: skip
        theirs = broadcast.ranked(moment, limit, **asked) if broadcast else []
        count = len(mine) + (broadcast.count(moment, **asked) if broadcast else 0)
        shown = sorted([*theirs, *mine], key=rank_key)[:limit]
        last_page = max(0, (count - 1) // SHOWN_FIRST)
        self.view = replace(self.view, notices=tuple(shown), notice_count=count, page=min(self.view.page, last_page))

    def notice(self, notice_id: str) -> Notice | None:
        """A notice the screen shows, for speaking it."""
        return next((n for n in self.view.notices + self.view.headlines if n.id == notice_id), None)
