"""A slow terminal's one core goes to the screen first: the kiosk's helper processes run below it (kiosk/priority.py).

bench/ui.py --slow 3 found the QR encoder, started at the kiosk's own priority, inside the longest GUI stall of a
first sync; these tests fail if a helper is ever started at the screen's priority again, or if a prompt is made
before the screen that asked for it is drawn.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from hardware.synthesis import EspeakCommandLine
from kiosk.priority import NICE, ScreenFirst
from kiosk.qr import QrProcess


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_qr_encoder_runs_below_the_screen() -> None:
    encoder = QrProcess()
    try:
        assert encoder.submit("https://ss.example.cn/notice/1").result(timeout=30), "a code came back"
        child = encoder._child
        assert child is not None
        assert nice_of(child.pid) == max(os.nice(0), NICE), "the encoder's process is below the kiosk's"
    finally:
        encoder.close()


def test_espeak_ng_synthesizes_below_the_screen(tmp_path: Path) -> None:
    engine = EspeakCommandLine()
    assert engine.start({"zh_CN": "sit/cmn-Latn-pinyin"}).problem is None
    seen = tmp_path / "nice"
    wrapper = tmp_path / "espeak-ng"  # espeak-ng itself, after noting the niceness it was started at
    wrapper.write_text(f'#!/bin/sh\nnice > "{seen}"\nexec "{engine.espeak}" "$@"\n')
    wrapper.chmod(0o755)
    engine.espeak = str(wrapper)
    assert engine.render("您好", "sit/cmn-Latn-pinyin", 160, 1.0), "audio came out"
    assert int(seen.read_text()) == max(os.nice(0), NICE)


def test_the_voice_runs_below_the_screen_and_a_prompt_is_sent_only_once_the_new_screen_is_drawn() -> None:
    from hardware.speech_process import SpeechProcess

    heard: list[float] = []
    came = threading.Event()
    speech = SpeechProcess(player=(), on_audio=lambda audio: (heard.append(time.monotonic()), came.set()))
    screen = ScreenFirst()
    speech.wait_for_screen = screen.wait
    speech.start()
    try:
        assert speech.ready.wait(20)
        assert speech.worker.pid and nice_of(speech.worker.pid) == max(os.nice(0), NICE), "the voice's process is below"
        screen.drawing()  # a new screen is on its way to the window
        speech.say("请插入社保卡")
        time.sleep(ScreenFirst.WAIT_S / 2)
        assert not heard, "the prompt waited for the screen"
        drawn = time.monotonic()
        screen.drawn()
        assert came.wait(10), "and came once it was drawn"
        assert heard[0] > drawn
    finally:
        speech.close()


def test_the_window_says_drawn_only_after_it_has_painted_the_new_screen(qapp: QApplication) -> None:
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    window = KioskWindow(post=lambda touch: None)
    window.resize(1280, 800)
    window.show()
    painted: list[float] = []
    drawn: list[float] = []

    class Paints(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(time.monotonic())
            return False

    paints = Paints()
    window.installEventFilter(paints)
    told = window.screen_first.drawn
    window.screen_first.drawn = lambda: (drawn.append(time.monotonic()), told())  # type: ignore[method-assign]
    for _, view in list(scenes())[:4]:
        painted.clear()
        drawn.clear()
        window.show_view(view)
        assert not window.screen_first._drawn.is_set()
        deadline = time.monotonic() + 5
        while not drawn and time.monotonic() < deadline:
            qapp.processEvents()
        assert painted and drawn and drawn[0] > painted[-1], "drawn after the new screen's paint"
    window.close()
