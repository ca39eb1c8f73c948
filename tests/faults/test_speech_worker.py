"""The voice's process (hardware/speech_worker.py) killed or stopped: the next prompt is heard from a new one, at
the volume the hall and the citizen had set, with its real espeak-ng audio."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.speech_process import SpeechProcess
from hardware.voice import Audio
from kiosk.worker import HANG_S


@pytest.fixture
def voice() -> Iterator[tuple[SpeechProcess, list[Audio], threading.Event]]:
    heard: list[Audio] = []
    came = threading.Event()
    speech = SpeechProcess(player=(), on_audio=lambda audio: (heard.append(audio), came.set()), wav=True)
    speech.start()
    assert speech.ready.wait(20), "the voice's process started"
    yield speech, heard, came
    speech.close()


def replaced(speech: SpeechProcess, old: int | None, within: float) -> float:
    start = time.monotonic()
    while not (speech.worker.running() and speech.worker.pid != old):
        assert time.monotonic() - start < within, f"no new voice process after {within} s"
        time.sleep(0.05)
    return time.monotonic() - start


def said_after(speech: SpeechProcess, heard: list[Audio], came: threading.Event, words: str) -> Audio:
    came.clear()
    heard.clear()
    assert speech.say(words)
    assert came.wait(10), f"{words!r} was not heard"
    return heard[-1]


def test_a_killed_voice_is_replaced_at_once_and_keeps_the_citizens_volume(voice: tuple) -> None:
    speech, heard, came = voice
    speech.citizen_db = -6.0  # the citizen asked for quieter
    before = said_after(speech, heard, came, "请插入社保卡")
    old = speech.worker.pid
    speech.say("正在读卡，请不要拔卡。")  # killed while making or playing it
    os.kill(old, signal.SIGKILL)
    back_after = replaced(speech, old, 5)
    print(f"voice killed: a new voice process ready after {back_after:.2f} s")
    assert back_after <= 2
    assert speech.worker.restarts == 1 and "SIGKILL" in speech.worker.last_exit
    after = said_after(speech, heard, came, "请插入社保卡")
    assert after.seconds > 0.5 and abs(after.peak - before.peak) <= before.peak * 0.02, "as quiet as before"
    assert speech.state.spoken >= 2, "what was played before the kill is still counted"


def test_a_stopped_voice_is_noticed_and_replaced(voice: tuple) -> None:
    speech, heard, came = voice
    old = speech.worker.pid
    os.kill(old, signal.SIGSTOP)
    after = replaced(speech, old, HANG_S + 5)
    print(f"voice stopped: replaced after {after:.2f} s (HANG_S={HANG_S})")
    assert after <= HANG_S + 2 and "hung" in speech.worker.last_exit
    assert not os.path.exists(f"/proc/{old}"), "the stopped one is gone"
    assert said_after(speech, heard, came, "请插入社保卡").seconds > 0.5


def test_a_killed_voice_takes_the_prompt_it_was_playing_with_it() -> None:
    """A notice being read when the voice's process dies is not read on over the next citizen's prompts."""
    sink = [sys.executable, str(Path(__file__).resolve().parent.parent / "paced_sink.py")]
    came = threading.Event()
    speech = SpeechProcess(player=sink, on_audio=lambda audio: came.set())
    speech.start()
    try:
        assert speech.ready.wait(20)
        old = speech.worker.pid
        assert speech.say("您好，您今年的养老金认证快到期了。现在就可以在这台机器上刷脸认证，一分钟就好。")
        assert came.wait(10)
        deadline = time.monotonic() + 5
        while not (players := players_of(old)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert players, "the prompt is playing"
        os.kill(old, signal.SIGKILL)
        replaced(speech, old, 5)
        deadline = time.monotonic() + 1
        while (playing := [pid for pid in players if still_running(pid)]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not playing, "its player stopped with it"
    finally:
        speech.close()


def still_running(pid: int) -> bool:
    """Not ended, and not a zombie waiting for this machine's init to collect it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def players_of(pid: int | None) -> list[int]:
    """The voice's player processes (the paced sink standing for aplay)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (
                f"{pid}" == (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
                and "paced_sink" in (proc / "cmdline").read_text()
            ):
                found.append(int(proc.name))
    return found
