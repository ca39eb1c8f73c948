"""The voice's records, the same on both sides of its process: a clip as made and checked, and how the voice is.

The voice's process (hardware/speech_worker.py, running hardware/speech.py) makes them; the window's side of it
(hardware/speech_process.py) hears them in JSON and builds the same records, so that nothing in the window's
process needs the audio code (numpy) to know what was said and how long it played.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.privacy import SpeechRefused, check_private

log = logging.getLogger("hardware.speech")


@dataclass(frozen=True)
class Audio:
    wav: bytes  # empty on the window's side unless asked for (tests, doctor measure the clip itself)
    seconds: float
    peak: int  # largest absolute sample, 0 for silence
    recorded: bool = False  # from the hall's voice pack, not synthesized
    words: str = ""  # what it says: on the window's side, only with the WAV (a test's or doctor's ears)


@dataclass
class SpeechState:
    """What staff and `doctor` see: ready, no_voice, no_audio_device, off."""

    status: str = "starting"
    detail: str = ""
    engine: str = ""  # the back-end: espeak-ng, or pyttsx3 (its driver)
    limits: tuple[str, ...] = ()  # what that back-end cannot honour, for doctor and staff
    spoken: int = 0
    refused: int = 0


def may_say(text: str, secrets: Sequence[str], state: SpeechState) -> bool:
    """The privacy guard in front of the voice: False (counted, logged without the text) for what is never said."""
    try:
        check_private(text, secrets)
    except SpeechRefused as e:
        state.refused += 1
        log.warning("speech refused: %s", e)
        return False
    return True
