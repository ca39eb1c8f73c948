"""Speech timings: say() → first audio ready for the player, synthesis time per second of speech, through
espeak-ng's command line and through pyttsx3, beside raw `espeak-ng -w` in the same run; the GUI event-loop stall
while the kiosk speaks; and loudness: every fixed prompt of both languages as the kiosk hands it to the player
(levelled, and from a recorded voice pack) beside raw espeak-ng's, against the -23 LUFS target (kiosk/loudness.py).

Usage: python bench/speech.py [--runs 20] [--loudness]   (--loudness: the table of every prompt, too)
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
from hardware.speech import VOICES, Audio, Speech, _true_header, inspect_wav, speakable  # noqa: E402
from kiosk import loudness  # noqa: E402
from kiosk.voicepack import export  # noqa: E402
from ui.texts import SPOKEN, TEXTS, fixed_prompts, spoken  # noqa: E402

PROMPTS = [spoken(k, "zh_CN") for k in sorted(SPOKEN) if "{" not in TEXTS[k]]


def measure_ours(
    runs: int, cache: bool, pack: Path | None = None, engine: str = "espeak-ng"
) -> tuple[list[float], list[float]]:
    """say() → audio handed to the player, and synthesis seconds per second of audio, through one back-end."""
    ready = threading.Event()
    heard: list[Audio] = []

    def on_audio(audio: Audio) -> None:
        heard.append(audio)
        ready.set()

    speech = Speech(player=(), on_audio=on_audio, pack=pack, engine=engine)
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


def raw_espeak(text: str, language: str, *options: str) -> Audio:
    done = subprocess.run(["espeak-ng", "-v", VOICES[language], *options, "--stdout"],
                          input=speakable(text, language).encode(), capture_output=True, check=True)  # fmt: skip
    return _true_header(done.stdout)


def lufs(audio: Audio) -> float:
    return loudness.integrated(loudness.read_wav(audio.wav)[0])


def make_pack(folder: Path) -> Path:
    """A pack as a hall would bring one: every fixed prompt of both languages, "recorded" in another voice (espeak-ng
    at a higher pitch and a much lower level than the kiosk's own)."""
    prompts = fixed_prompts(("zh_CN", "en"))
    export(folder, prompts, "zh_CN")
    export(folder / "en", prompts, "en")
    manifest = folder / "pack.toml"
    english = (folder / "en" / "pack.toml").read_text(encoding="utf-8").split("\n\n", 1)[1]
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n" + english, encoding="utf-8")
    for prompt in prompts:
        audio = raw_espeak(prompt.text, prompt.language, "-p", "90", "-a", "40")
        (folder / f"{prompt.id}.{prompt.language}.wav").write_bytes(audio.wav)
    return folder


def measure_loudness(pack: Path) -> list[tuple[str, str, float, float, float]]:
    """(id, language, raw espeak-ng LUFS, ours synthesized, ours from the pack) for every fixed prompt."""
    heard: list[Audio] = []
    came = threading.Event()
    found = []
    voices = []
    for folder in (None, pack):
        speech = Speech(volume=1.0, player=(), on_audio=lambda a: (heard.append(a), came.set()), pack=folder)
        speech.start()
        speech.ready.wait()
        voices.append(speech)
    for prompt in fixed_prompts(("zh_CN", "en")):  # the pack's languages
        levels = [lufs(raw_espeak(prompt.text, prompt.language))]
        for speech in voices:
            came.clear()
            speech.say(prompt.text, prompt.language, cache=True)
            came.wait(10)
            levels.append(lufs(heard[-1]))
        found.append((prompt.id, prompt.language, *levels))
    for speech in voices:
        speech.close()
    return found  # type: ignore[return-value]


def loudness_table(found: list[tuple[str, str, float, float, float]]) -> str:
    lines = [f"{'prompt':<40} {'lang':<6} {'raw espeak-ng':>13} {'ours':>7} {'pack':>7}   LUFS, target "
             f"{loudness.TARGET_LUFS:g}"]  # fmt: skip
    lines += [f"{key:<40} {lang:<6} {raw:13.1f} {ours:7.1f} {pack:7.1f}" for key, lang, raw, ours, pack in found]
    return "\n".join(lines)


def measure(runs: int, show_loudness: bool = False) -> list[Row]:
    fresh, fresh_rate = measure_ours(runs, cache=False)
    cached, _ = measure_ours(runs, cache=True)
    pack = make_pack(Path(tempfile.mkdtemp()) / "pack")
    recorded, _ = measure_ours(runs, cache=True, pack=pack)
    found = measure_loudness(pack)
    if show_loudness:
        print(loudness_table(found), file=sys.stderr)
    target = loudness.TARGET_LUFS
    off = [max(abs(ours - target), abs(packed - target)) for _, _, _, ours, packed in found]
    raw_off = [abs(raw - target) for _, _, raw, _, _ in found]
    raw_levels = [raw for _, _, raw, _, _ in found]
    pyttsx3, pyttsx3_rate = measure_ours(runs, cache=False, engine="pyttsx3")
    raw, raw_rate = measure_raw(runs)
    stall = gui_stall_while_speaking()
    # pyttsx3 runs libespeak inside the kiosk's process, its audio handed to Python callbacks under the GIL.
    pyttsx3_stall = gui_stall_while_speaking(engine="pyttsx3")
    (cm, cp), (fm, fp), (om, op) = ms(cached), ms(fresh), ms(fresh_rate)
    (rm, rp), (rrm, rrp) = ms(raw), ms(raw_rate)
    pm, pp = ms(recorded)
    (ym, yp), (yrm, yrp) = ms(pyttsx3), ms(pyttsx3_rate)
    raw_name = "raw espeak-ng -w"
    return [
        Row("speech.fixed", "say() → first audio ready (fixed prompt)", cm, cp, rm, rp, raw_name, "≤ 300 ms median",
            cm <= 300),
        Row("speech.fresh", "say() → first audio ready (never said yet)", fm, fp, rm, rp, raw_name, "≤ 300 ms median",
            fm <= 300),
        Row("speech.pack", "say() → first audio ready (fixed prompt, recorded pack)", pm, pp, rm, rp, raw_name,
            "≤ 300 ms median", pm <= 300),
        Row("speech.rate", "synthesis time per second of speech", om, op, rrm, rrp, raw_name, unit="ms/s"),
        Row("speech.loudness", f"loudness off the {target:g} LUFS target, {len(found)} prompts (synth. and pack)",
            max(off), None, max(raw_off), None, "raw espeak-ng", "≤ 1 LU", max(off) <= 1.0, unit="LU"),
        Row("speech.loudness_spread", "loudness spread from prompt to prompt (max − min)",
            max(o for _, _, _, o, _ in found) - min(o for _, _, _, o, _ in found), None,
            max(raw_levels) - min(raw_levels), None, "raw espeak-ng", unit="LU"),
        Row("speech.pyttsx3", "say() → first audio ready through pyttsx3 (espeak driver)", ym, yp, rm, rp, raw_name,
            "≤ 300 ms median", ym <= 300),
        Row("speech.pyttsx3.rate", "pyttsx3: synthesis time per second of speech", yrm, yrp, rrm, rrp, raw_name,
            unit="ms/s"),
        stall_row("speech.stall", "longest GUI event-loop stall while speaking", stall),
        stall_row("speech.pyttsx3.stall", "longest GUI event-loop stall while pyttsx3 speaks", pyttsx3_stall),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line (for bench/run)")
    parser.add_argument("--loudness", action="store_true", help="print every prompt's loudness (to stderr)")
    add_option(parser)
    args = parser.parse_args()
    slowed = confine(args.slow)  # before anything is started: all of it runs on the slow terminal
    rows = measure(args.runs, args.loudness)
    title = f"speech, {args.runs} prompts each, voice {VOICES['zh_CN']}"
    title += f", {slowed}" if slowed else ""
    note = "(ms; raw = `espeak-ng -w FILE` then reading the file, the same voice and sentences)"
    return report(rows, title, note, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
