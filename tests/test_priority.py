"""A slow terminal's one core goes to the screen first: the kiosk's helper processes run below it (kiosk/priority.py).

bench/ui.py --slow 3 found the QR encoder, started at the kiosk's own priority, inside the longest GUI stall of a
first sync; these tests fail if a helper is ever started at the screen's priority again.
"""

from __future__ import annotations

import os
from pathlib import Path

from hardware.synthesis import EspeakCommandLine
from kiosk.priority import NICE
from kiosk.qr import QrProcess


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_qr_encoder_runs_below_the_screen() -> None:
    encoder = QrProcess()
    try:
        assert encoder.submit("https://ss.example.cn/notice/1").result(timeout=30), "a code came back"
        child = encoder._child
        assert child is not None
        assert nice_of(child.pid) == os.nice(0) + NICE, "the encoder's process is below the kiosk's"
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
    assert int(seen.read_text()) == os.nice(0) + NICE
