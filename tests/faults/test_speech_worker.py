"""The voice's process (hardware/speech_worker.py) killed or stopped: the next prompt is heard from a new one, at
the volume the hall and the citizen had set, with its real espeak-ng audio."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

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
