"""Speech timings: say() → first audio ready for the player, synthesis time per second of speech, through
espeak-ng's command line and through pyttsx3, beside raw `espeak-ng -w` in the same run; and the GUI
event-loop stall while the kiosk speaks.

Usage: python bench/speech.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench import EventLoopStalls, Row, ms, report, stall_row  # noqa: E402
from bench.slow import add_option, confine  # noqa: E402
from hardware.speech import VOICES, Audio, Speech, inspect_wav  # noqa: E402
from ui.texts import SPOKEN, TEXTS, spoken  # noqa: E402

PROMPTS = [spoken(k, "zh_CN") for k in sorted(SPOKEN) if "{" not in TEXTS[k]]


def measure_ours(runs: int, cache: bool, engine: str = "espeak-ng") -> tuple[list[float], list[float]]:
    """say() → audio handed to the player, and synthesis seconds per second of audio, through one back-end."""
    ready = threading.Event()
    heard: list[Audio] = []

    def on_audio(audio: Audio) -> None:
        heard.append(audio)
        ready.set()

    speech = Speech(player=(), on_audio=on_audio, engine=engine)
    speech.start()
    speech.ready.wait()
    if cache:  # what the kiosk does at start: the fixed prompts made while nobody is there
        for text in PROMPTS:
            ready.clear()
            speech.say(text, "zh_CN", cache=True)
            ready.wait(5)
    latency, per_second = [], []
    for n in range(runs):
        text = PROMPTS[n % len(PROMPTS)]
        ready.clear()
        start = time.perf_counter()
        speech.say(text, "zh_CN", cache=cache)
        assert ready.wait(5)
        elapsed = time.perf_counter() - start
        latency.append(elapsed)
        per_second.append(elapsed / heard[-1].seconds)
    speech.close()
    return latency, per_second


def measure_raw(runs: int) -> tuple[list[float], list[float]]:
    """What a script would do: espeak-ng -w file, then read the file."""
    folder = Path(tempfile.mkdtemp())
    latency, per_second = [], []
    for n in range(runs):
        text = PROMPTS[n % len(PROMPTS)]
        out = folder / "raw.wav"
        start = time.perf_counter()
        subprocess.run(["espeak-ng", "-v", VOICES["zh_CN"], "-s", "150", "-w", str(out), text], check=True)
        audio = inspect_wav(out.read_bytes())
        elapsed = time.perf_counter() - start
        latency.append(elapsed)
        per_second.append(elapsed / audio.seconds)
    return latency, per_second


def gui_stall_while_speaking(seconds: float = 3.0, engine: str = "espeak-ng") -> float:
    """The longest gap between GUI event-loop turns while prompts are said back to back."""
    app = QApplication.instance() or QApplication(sys.argv)
    speech = Speech(player=(), engine=engine)
    speech.start()
    speech.ready.wait()
    stalls = EventLoopStalls()
    QTimer.singleShot(25, stalls.reset)  # the loop's own first turns are not speech
    talk = QTimer()
    prompts = iter(PROMPTS * 10)
    talk.timeout.connect(lambda: speech.say(next(prompts), "zh_CN"))
    talk.start(50)  # a new screen every 50 ms: far more than a citizen makes
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    speech.close()
    return stalls.longest


def measure(runs: int) -> list[Row]:
    fresh, fresh_rate = measure_ours(runs, cache=False)
    cached, _ = measure_ours(runs, cache=True)
    pyttsx3, pyttsx3_rate = measure_ours(runs, cache=False, engine="pyttsx3")
    raw, raw_rate = measure_raw(runs)
    stall = gui_stall_while_speaking()
    # pyttsx3 runs libespeak inside the kiosk's process, its audio handed to Python callbacks under the GIL.
    pyttsx3_stall = gui_stall_while_speaking(engine="pyttsx3")
    (cm, cp), (fm, fp), (om, op) = ms(cached), ms(fresh), ms(fresh_rate)
    (rm, rp), (rrm, rrp) = ms(raw), ms(raw_rate)
    (pm, pp), (prm, prp) = ms(pyttsx3), ms(pyttsx3_rate)
    raw_name = "raw espeak-ng -w"
    return [
        Row("speech.fixed", "say() → first audio ready (fixed prompt)", cm, cp, rm, rp, raw_name, "≤ 300 ms median",
            cm <= 300),
        Row("speech.fresh", "say() → first audio ready (never said yet)", fm, fp, rm, rp, raw_name, "≤ 300 ms median",
            fm <= 300),
        Row("speech.rate", "synthesis time per second of speech", om, op, rrm, rrp, raw_name, unit="ms/s"),
        Row("speech.pyttsx3", "say() → first audio ready through pyttsx3 (espeak driver)", pm, pp, rm, rp, raw_name,
            "≤ 300 ms median", pm <= 300),
        Row("speech.pyttsx3.rate", "pyttsx3: synthesis time per second of speech", prm, prp, rrm, rrp, raw_name,
            unit="ms/s"),
        stall_row("speech.stall", "longest GUI event-loop stall while speaking", stall),
        stall_row("speech.pyttsx3.stall", "longest GUI event-loop stall while pyttsx3 speaks", pyttsx3_stall),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line (for bench/run)")
    add_option(parser)
    args = parser.parse_args()
    slowed = confine(args.slow)  # before anything is started: all of it runs on the slow terminal
    rows = measure(args.runs)
    title = f"speech, {args.runs} prompts each, voice {VOICES['zh_CN']}"
    title += f", {slowed}" if slowed else ""
    note = "(ms; raw = `espeak-ng -w FILE` then reading the file, the same voice and sentences)"
    return report(rows, title, note, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
