"""A third-generation card in the whole kiosk: real window, real pcscd with the emulated card in one vpcd slot
and the emulated PSAM in the other, the reference backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from kiosk.card import CardFault
from kiosk.config import Config, from_text
from kiosk.hall.server import HallServer
from kiosk.session import Screen
from kiosk.staff import psam_words
from tests.conftest import PSAM_READER, kiosk_toml, running_kiosk
from tests.test_ui_flow import screen_is, tap_text
from ui.app import KioskApp

THIRD = "zhang-guifang-3rd-gen"
CALM = "您的卡没有问题，请到人工窗口办理"  # what the citizen reads whichever part of the kiosk failed


def config(tmp_path: Path, backend: HallServer, psam_filter: str) -> Config:
    extra = f'psam_filter = "{psam_filter}"\n[voice]\nenabled = false\n'
    return from_text(kiosk_toml(backend, tmp_path / "data", extra), tmp_path / "kiosk.toml")


@pytest.fixture
def kiosk(tmp_path: Path, backend: HallServer, psam_slot: object, qapp: QApplication) -> Iterator[KioskApp]:
    with running_kiosk(config(tmp_path, backend, PSAM_READER)) as app:
        yield app


def visible_texts(kiosk: KioskApp) -> str:
    return " ".join(t.text() for t in kiosk.window.findChildren(QLabel) if t.isVisible())


def test_a_third_generation_card_greets_its_holder_with_her_notices(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: kiosk.psam.ready, timeout=5000)
    assert any("PSAM: 正常 ready · terminal 440100000042" in line for line in kiosk.staff_status())
    card_slot(THIRD)
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "202305":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: screen_is(kiosk, Screen.NOTICES)() and not kiosk.window.view.personal_loading, timeout=5000)
    view = kiosk.window.view
    assert view.greeting == ("张", "female")
    assert view.notices[0].title == "请尽快做养老金认证" and view.notices[0].personal
    assert "您的高龄津贴批下来了" in [n.title for n in view.notices]


@pytest.mark.parametrize(
    ("fault", "status", "expected", "staff_words", "after"),
    [  # a locked PSAM opens: its keys refuse, and the first card's read shows staff that it is locked
        ("locked", "ready", CardFault.PSAM_LOCKED, "安全模块（PSAM）已锁定", "locked"),
        (
            "wrong_application",
            "wrong_application",
            CardFault.PSAM_WRONG_APPLICATION,
            "安全模块不是社保 PSAM",
            "wrong_application",
        ),
        ("wrong_master_key", "ready", CardFault.PSAM_KEY_MISMATCH, "卡片不接受本机 PSAM 的密钥", "ready"),
    ],
)
def test_a_faulty_psam_sends_the_citizen_calmly_to_the_counter_and_tells_staff_which_part(
    qtbot: QtBot,
    kiosk: KioskApp,
    psam_slot: object,
    card_slot: Callable[..., object],
    fault: str,
    status: str,
    expected: CardFault,
    staff_words: str,
    after: str,
) -> None:
    qtbot.waitUntil(lambda: kiosk.psam.ready, timeout=5000)
    before = kiosk.psam
    psam_slot.faults = [fault]
    psam_slot.insert()  # the hall swaps in a faulty PSAM
    qtbot.waitUntil(lambda: kiosk.psam is not before and kiosk.psam.status == status, timeout=5000)
    assert any(f"PSAM: {psam_words(status)}" in line for line in kiosk.staff_status())
    card_slot(THIRD)
    qtbot.waitUntil(screen_is(kiosk, Screen.CARD_PROBLEM), timeout=5000)
    assert kiosk.window.view.card_fault is expected
    qtbot.waitUntil(lambda: staff_words in visible_texts(kiosk), timeout=3000)
    assert CALM in visible_texts(kiosk)
    assert "张桂芳" not in visible_texts(kiosk) and kiosk.window.view.greeting == ("", "")
    assert "这张卡读不出来" not in visible_texts(kiosk), "the card is fine: the screen must not blame it"
    assert any(f"PSAM: {psam_words(after)}" in line for line in kiosk.staff_status())


def test_a_card_whose_last_try_the_kiosk_spent_is_sent_to_the_counter_without_blame(
    qtbot: QtBot, kiosk: KioskApp, psam_slot: object, card_slot: Callable[..., object]
) -> None:
    """63C0: the kiosk's PSAM is wrong, and the card's key is blocked now; neither "your card is fine" nor blame."""
    qtbot.waitUntil(lambda: kiosk.psam.ready, timeout=5000)
    before = kiosk.psam
    psam_slot.faults = ["wrong_master_key"]
    psam_slot.insert()
    qtbot.waitUntil(lambda: kiosk.psam is not before and kiosk.psam.ready, timeout=5000)
    card_slot(THIRD, rk_tries_left=1)
    qtbot.waitUntil(screen_is(kiosk, Screen.CARD_PROBLEM), timeout=5000)
    assert kiosk.window.view.card_fault is CardFault.PSAM_SPENT_LAST_TRY
    qtbot.waitUntil(lambda: "用掉了卡片最后一次机会" in visible_texts(kiosk), timeout=3000)
    shown = visible_texts(kiosk)
    assert "这台机器出了点问题" in shown and "您的社保卡需要到人工窗口处理一下。请带上身份证。" in shown
    assert CALM not in shown and "这张卡读不出来" not in shown


def test_a_counterfeit_card_shows_nothing_of_itself(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: kiosk.psam.ready, timeout=5000)
    card_slot(THIRD, faults=["counterfeit"])
    qtbot.waitUntil(screen_is(kiosk, Screen.CARD_PROBLEM), timeout=5000)
    assert kiosk.window.view.card_fault is CardFault.NOT_GENUINE and kiosk.window.view.greeting == ("", "")
    assert "内部认证失败" in visible_texts(kiosk) and CALM not in visible_texts(kiosk)


def test_a_kiosk_with_no_psam_configured_says_so_to_staff(
    qtbot: QtBot, tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication,
    card_slot: Callable[..., object],
) -> None:  # fmt: skip
    with running_kiosk(config(tmp_path, backend, "")) as kiosk:
        assert any("PSAM: 未配置" in line and "psam_filter" in line for line in kiosk.staff_status())
        card_slot(THIRD)
        qtbot.waitUntil(screen_is(kiosk, Screen.CARD_PROBLEM), timeout=5000)
        assert kiosk.window.view.card_fault is CardFault.NEEDS_SECURITY_MODULE
        qtbot.waitUntil(lambda: "本机未配置安全模块" in visible_texts(kiosk), timeout=3000)
        assert CALM in visible_texts(kiosk)


def test_the_demo_reads_its_third_generation_sample_card(pcscd: None, qapp: QApplication, kiosks_made: list) -> None:
    """`ss-kiosk demo` (the README's first command): its tester panel's third-generation card reaches the PIN."""
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer
    from PySide6.QtWidgets import QPushButton

    from kiosk.cli import main

    screens: list[Screen] = []

    def insert_the_third_generation_card() -> None:
        panel = next(w for w in QApplication.topLevelWidgets() if w.windowTitle() == "demo: card")
        next(b for b in panel.findChildren(QPushButton) if b.text() == f"insert: {THIRD}").click()

    def look() -> None:
        kiosk = kiosks_made[0]() if kiosks_made else None
        if kiosk is not None and (not screens or screens[-1] != kiosk.window.view.screen):
            screens.append(kiosk.window.view.screen)

    watching = QTimer()
    watching.timeout.connect(look)
    watching.start(50)
    QTimer.singleShot(3000, insert_the_third_generation_card)
    try:
        assert main(["demo", "--windowed", "--exit-after", "9"]) == 0
    finally:
        watching.stop()
        QCoreApplication.removePostedEvents(qapp, QEvent.Type.Quit)
    assert Screen.PIN in screens and Screen.CARD_PROBLEM not in screens, screens
