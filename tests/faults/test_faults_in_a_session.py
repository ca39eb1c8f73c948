"""Faults during a citizen's visit, with the whole kiosk running: real window, real pcscd with the emulated
card, the reference backend on loopback TLS. Each test says what the citizen sees, and asserts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hardware.ss_card import read_card
from kiosk.card import CardFault
from kiosk.config import from_text
from kiosk.hall.api import fail_with, garbage, oversized, slow
from kiosk.hall.server import HallServer
from kiosk.session import Screen
from tests.conftest import kill_and_restart_pcscd, kiosk_toml, running_kiosk
from tests.pcsc_line import PcscLine
from tests.test_ui_flow import screen_is, tap_first_notice, tap_text
from ui.app import KioskApp

READ_APDUS = 17  # SELECT MF, SELECT SSSE, SELECT EF05, 8 + 6 READ RECORDs: the emulator counts each


@pytest.fixture
def kiosk(tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication) -> Iterator[KioskApp]:
    config = from_text(kiosk_toml(backend, tmp_path / "data", "[voice]\nenabled = false\n"), tmp_path / "kiosk.toml")
    with running_kiosk(config) as app:
        yield app


def to_notices(qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object], pin: str = "123456") -> None:
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in pin:
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(screen_is(kiosk, Screen.NOTICES), timeout=5000)


def read_finish_and_rate(qtbot: QtBot, kiosk: KioskApp) -> None:
    """On the notices: open the first, 已读, back on the list, 办完了，退卡, then 满意 on the goodbye screen."""
    tap_first_notice(qtbot, kiosk)
    qtbot.waitUntil(screen_is(kiosk, Screen.DETAIL), timeout=3000)
    tap_text(qtbot, kiosk, "已读")
    qtbot.waitUntil(screen_is(kiosk, Screen.NOTICES), timeout=3000)
    tap_text(qtbot, kiosk, "办完了，退卡")
    qtbot.waitUntil(screen_is(kiosk, Screen.GOODBYE), timeout=3000)
    tap_text(qtbot, kiosk, "满意")


def nothing_personal_shown(kiosk: KioskApp) -> bool:
    view = kiosk.window.view
    return not any(view.greeting) and not any(n.personal for n in view.notices) and view.detail is None


def test_pcscd_gone_mid_session_calm_maintenance_screen_then_back_without_a_restart(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object], pcsc_line: PcscLine
) -> None:
    """The citizen sees "device maintenance" at once, nothing of theirs; when the service is back, the
    attract screen, and the kiosk serves the next card without having restarted."""
    to_notices(qtbot, kiosk, card_slot)
    reader_thread = kiosk.reader
    pcsc_line.cut()
    qtbot.waitUntil(screen_is(kiosk, Screen.NO_SERVICE), timeout=5000)
    assert nothing_personal_shown(kiosk)
    pcsc_line.restore()
    qtbot.waitUntil(lambda: kiosk.window.view.screen in (Screen.ATTRACT, Screen.PIN), timeout=15_000)
    serves_the_next_card_on_the_same_thread(qtbot, kiosk, card_slot, reader_thread)


def serves_the_next_card_on_the_same_thread(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object], reader_thread: object
) -> None:
    """The kiosk did not restart: its reader thread is the one from before the fault, and it reads a card."""
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=10_000)
    assert kiosk.reader is reader_thread and reader_thread.is_alive()  # type: ignore[attr-defined]


def test_pcscd_killed_and_started_again_mid_session(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    """pcscd itself dies (SIGKILL) and systemd starts it again: the citizen sees "device maintenance" while it
    is gone, then the attract screen; the kiosk reads the next card without having restarted."""
    to_notices(qtbot, kiosk, card_slot)
    reader_thread = kiosk.reader
    seen: list[Screen] = []
    kiosk.window.bridge.changed.connect(lambda view: seen.append(view.screen))
    if not kill_and_restart_pcscd(down_s=2.0):
        pytest.skip("this session uses a pcscd it did not start; the line-cut test above covers the kiosk's side")
    qtbot.waitUntil(lambda: Screen.NO_SERVICE in seen, timeout=5000)
    qtbot.waitUntil(lambda: kiosk.window.view.screen == Screen.ATTRACT, timeout=15_000)
    assert nothing_personal_shown(kiosk)
    serves_the_next_card_on_the_same_thread(qtbot, kiosk, card_slot, reader_thread)


def test_the_readers_link_drops_mid_session_and_comes_back(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    """vpcd's link to the card drops without a clean removal: the session is wiped and the attract screen
    comes back; once the link is there again, the card is read as a new visit."""
    to_notices(qtbot, kiosk, card_slot)
    emulator = card_slot("wang-ming")  # the slot's previous link is closed abruptly, then a new one opens
    qtbot.waitUntil(lambda: kiosk.window.view.screen in (Screen.ATTRACT, Screen.PIN), timeout=5000)
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    assert nothing_personal_shown(kiosk)
    emulator._sock.close()  # type: ignore[union-attr]  # the link breaks under the card
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    assert nothing_personal_shown(kiosk)


def test_the_read_sequence_has_seventeen_apdus() -> None:
    """Guards the count the next test walks through: one drop after each APDU of a whole read."""
    from hardware.emulator import Person, SimulatedCard, local_transmit
    from tests.conftest import person_file

    card = SimulatedCard(Person.load(person_file("wang-ming")))
    read_card(local_transmit(card))
    assert card.apdu_count == READ_APDUS


@pytest.mark.parametrize("answered", range(READ_APDUS))
def test_a_card_pulled_after_each_apdu_of_the_read_asks_to_insert_it_again(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object], answered: int
) -> None:
    """Pulled out half-read, after any APDU: "please insert it again" (or the attract screen if pcscd saw the
    card leave before the kiosk asked), never a crash, never a half-read name."""
    seen: list[Screen] = []
    kiosk.window.bridge.changed.connect(lambda view: seen.append(view.screen))
    card_slot("wang-ming", faults=[f"drop_after:{answered}"])
    qtbot.waitUntil(lambda: Screen.READING in seen, timeout=5000)
    pulled = (Screen.CARD_PROBLEM, Screen.ATTRACT)
    qtbot.waitUntil(lambda: kiosk.window.view.screen in pulled, timeout=5000)
    qtbot.wait(600)  # pcscd's poll: the removal reaches the kiosk too
    view = kiosk.window.view
    assert view.screen in pulled and nothing_personal_shown(kiosk)
    if view.screen == Screen.CARD_PROBLEM:
        assert view.card_fault is CardFault.REMOVED_DURING_READ


BACKEND_FAULTS = {
    "500": fail_with(500),
    "503": fail_with(503),
    "timeout": slow(12),
    "garbage": garbage,
    "oversized": oversized,
}


@pytest.mark.parametrize("fault", list(BACKEND_FAULTS))
def test_a_broken_backend_answer_during_a_visit_shows_the_hall_notices_and_keeps_the_feedback(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer, card_slot: Callable[..., object], fault: str
) -> None:
    """The personal notices cannot come: the citizen sees "personal notices unavailable" beside the hall's
    notices, can still read one and finish the visit, and the rating reaches the backend. (A "read" mark
    without the backend's subject for this person cannot be attributed to anyone, so none is queued.)"""
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=5000)  # the first sync came in
    backend.faults["/notices/personal"] = BACKEND_FAULTS[fault]
    to_notices(qtbot, kiosk, card_slot)
    qtbot.waitUntil(lambda: kiosk.window.view.personal_unavailable, timeout=15_000)
    assert kiosk.window.view.notices and not any(n.personal for n in kiosk.window.view.notices)
    read_finish_and_rate(qtbot, kiosk)
    qtbot.waitUntil(lambda: len(backend.receipts()) == 1, timeout=10_000)


@pytest.mark.parametrize("fault", list(BACKEND_FAULTS))
def test_a_broken_backend_during_a_sync_keeps_the_notices_on_screen(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer, fault: str
) -> None:
    """A sync that fails changes nothing the citizen sees: the hall's notices stay; the next good sync lands."""
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=5000)
    before = kiosk.window.view.headlines
    backend.faults["/notices/broadcast"] = BACKEND_FAULTS[fault]
    rounds = kiosk.network.sync_rounds
    kiosk.network.sync_now()
    qtbot.waitUntil(lambda: kiosk.network.sync_rounds > rounds, timeout=20_000)
    qtbot.wait(200)
    assert kiosk.window.view.headlines == before and kiosk.window.view.screen == Screen.ATTRACT
    del backend.faults["/notices/broadcast"]
    rounds = kiosk.network.sync_rounds
    kiosk.network.sync_now()
    qtbot.waitUntil(lambda: kiosk.network.sync_rounds > rounds, timeout=20_000)


def test_a_backend_with_an_untrusted_certificate_never_gets_the_citizens_card_number(
    qtbot: QtBot, tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication,
    card_slot: Callable[..., object],
) -> None:  # fmt: skip
    """TLS fails (a certificate from another CA): the citizen sees the hall's cached notices and "personal
    notices unavailable"; the backend never sees a personal request."""
    import trustme

    stranger = tmp_path / "stranger-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    config = from_text(kiosk_toml(backend, tmp_path / "data", "[voice]\nenabled = false\n", ca=stranger),
                       tmp_path / "kiosk.toml")  # fmt: skip
    with running_kiosk(config) as kiosk:
        to_notices(qtbot, kiosk, card_slot)
        qtbot.waitUntil(lambda: kiosk.window.view.personal_unavailable, timeout=10_000)
    assert ("POST", "/notices/personal") not in backend.requests


def test_corrupt_cache_and_outbox_files_at_start_the_kiosk_serves_and_rebuilds(
    qtbot: QtBot, tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication
) -> None:
    """Both files are garbage after a bad power cut: the kiosk starts to the attract screen anyway, the hall's
    notices come back with the next sync, and the broken files are kept aside for staff, not deleted."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "broadcast.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)
    (data / "outbox.sqlite3").write_bytes(b"not a database at all" * 100)
    config = from_text(kiosk_toml(backend, data, "[voice]\nenabled = false\n"), tmp_path / "kiosk.toml")
    with running_kiosk(config) as kiosk:
        qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=10_000)
        assert kiosk.window.view.screen == Screen.ATTRACT
    assert len(list(data.glob("broadcast.sqlite3.corrupt-*"))) == 1
    assert len(list(data.glob("outbox.sqlite3.corrupt-*"))) == 1
