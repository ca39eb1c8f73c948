"""Speech engines: text in, one WAV out, for the speech worker (hardware/speech.py) to check and play.

Two back-ends behind one small interface. `EspeakCommandLine` runs espeak-ng once a prompt (the default on
Debian: voice, rate and volume travel with each prompt, nothing touches the disk). `Pyttsx3Engine` drives
pyttsx3 (`save_to_file`, then the worker's own player), which reaches SAPI5 voices on a Windows terminal and
NSSpeech on macOS, and libespeak-ng through its espeak driver here. Neither plays anything itself: the worker
plays the WAV through a process it can kill, so every engine can be interrupted at once.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kiosk.config import VOICE_ENGINES
from kiosk.priority import below_the_screen

log = logging.getLogger(__name__)

ENGINES = VOICE_ENGINES  # [voice] engine in the config
# pyttsx3's other drivers have their own voices: ours are chosen by language there (SAPI5 zh-CN, NSSpeech zh_CN).
LANGUAGE_TAGS = {"zh_CN": ("zh_cn", "cmn"), "en": ("en_us", "en_gb", "en")}
# pyttsx3 2.99's espeak driver hands rate and voice to libespeak's own queue, and runAndWait() may cancel that queue:
# a changed rate was lost in 1 of 300 prompts here (in 11 of 30 while the engine was still busy); with 20 ms for the
# queue before the utterance, in none of 1,600.
SETTLE_S = 0.02
ATTEMPTS = 3  # pyttsx3's espeak driver cuts a prompt now and then (see Pyttsx3Engine._made)
CANCELLED_S = 0.1  # after a "cut short", how long its real end may still come
RENDER_TIMEOUT_S = 5.0  # a 300-character notice takes ~0.3 s to make here


@dataclass(frozen=True)
class Started:
    """What a back-end's start() found: the languages whose voice it lacks, and what it says of it all."""

    problem: str | None = None  # in a sentence for doctor and the staff panel; None: ready for every voice
    missing: tuple[str, ...] = ()  # languages ({language: voice} keys) whose voice is missing

    @property
    def broken(self) -> bool:
        """Unusable whatever the voices (not installed, does not start)."""
        return self.problem is not None and not self.missing


class Synthesizer(Protocol):
    """One speech back-end, driven from the speech worker's thread only."""

    name: str  # what staff and doctor see: "espeak-ng" or "pyttsx3 (espeak)"
    limits: tuple[str, ...]  # what it cannot honour, in words for doctor and the staff panel

    def start(self, voices: Mapping[str, str]) -> Started:
        """Get ready for these voices ({language: espeak voice id})."""
        ...

    def render(self, text: str, voice: str, rate: int, volume: float) -> bytes | None:
        """The text said by `voice` at `rate` words a minute and `volume` 0–1, as WAV; None when none came."""
        ...

    def close(self) -> None: ...


def choose(engine: str = "auto") -> Synthesizer:
    """The back-end the config names; auto: espeak-ng's command line where it exists, else pyttsx3."""
    if engine == "espeak-ng" or (engine == "auto" and shutil.which("espeak-ng")):
        return EspeakCommandLine()
    if engine in ("auto", "pyttsx3"):
        return Pyttsx3Engine()
    raise ValueError(f"unknown speech engine {engine!r}: one of {', '.join(ENGINES)}")


# -- espeak-ng's command line ------------------------------------------------------------------------
class EspeakCommandLine:
    """espeak-ng once a prompt: the text in through standard input, the WAV out through standard output."""

    name = "espeak-ng"
    limits: tuple[str, ...] = ()  # voice, rate and volume go with each prompt; the worker's player stops it

    def __init__(self) -> None:
        self.espeak: str | None = None

    def start(self, voices: Mapping[str, str]) -> Started:
        self.espeak = shutil.which("espeak-ng")
        if self.espeak is None:
            return Started("espeak-ng is not installed")
        listing = subprocess.run([self.espeak, "--voices"], capture_output=True, text=True, timeout=30).stdout
        return _started({lang: v for lang, v in voices.items() if f" {v.casefold()} " not in listing.casefold()})

    def render(self, text: str, voice: str, rate: int, volume: float) -> bytes | None:
        assert self.espeak is not None, "start() first"
        done = subprocess.run(
            below_the_screen([self.espeak, "-v", voice, "-s", str(rate), "-a", str(round(volume * 100)), "--stdout"]),
            input=text.encode("utf-8"), capture_output=True, timeout=30,
        )  # fmt: skip
        raw = done.stdout
        if done.returncode != 0 or len(raw) <= 44 or raw[:4] != b"RIFF" or raw[36:40] != b"data":
            return None
        return true_header(raw)

    def close(self) -> None:
        pass


def _started(missing: Mapping[str, str]) -> Started:
    """{language: the voice, as named to staff} of the voices not found."""
    if not missing:
        return Started()
    return Started(f"voices missing: {', '.join(dict.fromkeys(missing.values()))}", tuple(missing))


def true_header(raw: bytes) -> bytes:
    """A stream's header cannot know its length (espeak-ng and sox write 0x7FFFFFFF): write a true one."""
    fixed = io.BytesIO()
    with wave.open(fixed, "wb") as out:
        out.setnchannels(int.from_bytes(raw[22:24], "little"))
        out.setsampwidth(int.from_bytes(raw[34:36], "little") // 8)
        out.setframerate(int.from_bytes(raw[24:28], "little"))
        out.writeframes(raw[44:])
    return fixed.getvalue()


# -- pyttsx3 -----------------------------------------------------------------------------------------
def private_folder() -> Path:
    """A 0700 folder for pyttsx3's one file, in memory where the system has it (/dev/shm): a notice said
    aloud may hold personal words, so its WAV must never rest on a disk. There, folders that a kiosk killed
    mid-prompt left behind are removed first (the folder's name holds the process id)."""
    shm = Path("/dev/shm")
    if not os.access(shm, os.W_OK | os.X_OK):
        return Path(tempfile.mkdtemp(prefix=f"ss-kiosk-speech-{os.getpid()}-"))  # the user's own temp (Windows, macOS)
    for old in shm.glob("ss-kiosk-speech-*-*"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(old.name.split("-")[3])
            if old.stat().st_uid == os.getuid() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"ss-kiosk-speech-{os.getpid()}-", dir=shm))  # mkdtemp makes it 0700


class Pyttsx3Engine:
    """pyttsx3 on the speech worker's thread: `save_to_file` into a private folder, read back, deleted at once.

    pyttsx3 engines are not thread-safe and init() keeps them by a weak reference: the engine is made in
    start() on the worker's thread, held here, and used from that thread only."""

    def __init__(self, driver: str | None = None) -> None:
        self.driver = driver  # None: pyttsx3's default for this system (sapi5, nsss, espeak)
        self.name = "pyttsx3"
        self.limits: tuple[str, ...] = ()
        self.folder: Path | None = None
        self._engine: Any = None
        self._listening: dict[str, Any] = {}
        self._voice_ids: dict[str, str] = {}
        self._finished = threading.Event()  # the driver said the utterance is complete
        self._cancelled = threading.Event()  # the driver said an utterance was cut short
        self._settings: tuple[str, int, float] | None = None
        self.remade = 0  # prompts the driver cut or wrote empty, made again (bench/speech.py counts them)

    def start(self, voices: Mapping[str, str]) -> Started:
        try:
            import pyttsx3
        except ImportError:
            return Started("pyttsx3 is not installed (pip install pyttsx3)")
        try:
            self._engine = pyttsx3.init(self.driver)
        except Exception as e:  # a missing libespeak-ng1, SAPI5 or pyobjc: a sentence for staff, not a crash
            return Started(f"pyttsx3 does not start ({type(e).__name__}: {e})")
        driver = getattr(self._engine, "driver_name", self.driver or "?")
        self.name = f"pyttsx3 ({driver})"
        # Its espeak driver returns from runAndWait() before the WAV is written: wait for the utterance's end.
        self._listening = self._engine.connect("finished-utterance", self._on_finished)
        available = self._engine.getProperty("voices") or []
        missing = {}
        for language, voice in voices.items():
            found = _pick_voice(available, voice, language, by_language=driver != "espeak")
            if found is None:
                missing[language] = voice if driver == "espeak" else f"{voice} (a {language} voice)"
            else:
                self._voice_ids[voice] = found
        self.limits = _limits(driver)
        self.folder = private_folder()
        return _started(missing)

    def _on_finished(self, name: str | None = None, completed: bool = True) -> None:
        if completed:
            self._finished.set()
        elif not self._finished.is_set():  # cut before its end: what was written is only the start of it
            self._cancelled.set()

    def render(self, text: str, voice: str, rate: int, volume: float) -> bytes | None:
        assert self._engine is not None and self.folder is not None, "start() first"
        settings = (self._voice_ids[voice], rate, volume)
        if settings != self._settings:
            if self._engine.isBusy():  # a busy engine holds settings back until the utterance: none would land
                self._engine.runAndWait()  # (a new engine is busy until its first loop: its first prompts came fast)
            self._engine.setProperty("voice", settings[0])
            self._engine.setProperty("rate", rate)
            self._engine.setProperty("volume", volume)
            time.sleep(SETTLE_S)
            self._settings = settings
        for attempt in range(ATTEMPTS):  # again when the driver cut the prompt itself or wrote it empty (see _made)
            made = self._made(text)
            wav = _as_wav(made) if made else None
            if wav is not None and _frames(wav):
                return wav
            if made is None and not self._cancelled.is_set():
                return None  # it never finished: waiting again would hold the next prompt as long
            self.remade += attempt < ATTEMPTS - 1
        log.warning("pyttsx3 gave no whole prompt in %d tries", ATTEMPTS)
        return None

    def _made(self, text: str) -> bytes | None:
        """One utterance into the private folder, waited for, read back, deleted at once (it may hold a
        citizen's notice). None when the driver cancelled it, or it never finished."""
        assert self._engine is not None and self.folder is not None
        path = self.folder / "prompt.wav"  # one fixed name: nothing of the text in it
        self._finished.clear()
        self._cancelled.clear()
        try:
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()
            # The espeak driver returns from runAndWait() before the WAV is written: wait for the utterance's end.
            # Its loop's end cancels libespeak when it still runs (that utterance, or with a flag left set, the next
            # one): a "not completed" before the end means the WAV holds only the start. And now and then it writes
            # an empty WAV (DESIGN §10).
            limit = CANCELLED_S if self._cancelled.is_set() else RENDER_TIMEOUT_S
            if not self._finished.wait(limit):
                if not self._cancelled.is_set():
                    log.warning("pyttsx3 did not finish a prompt in %.0f s", RENDER_TIMEOUT_S)
                return None
            return None if self._cancelled.is_set() else path.read_bytes()
        except OSError:
            return None
        finally:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._engine is not None:  # pyttsx3 keeps one engine a process: leave it as it was found
            self._engine.disconnect(self._listening)
            self._engine = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _pick_voice(available: list[Any], voice: str, language: str, by_language: bool) -> str | None:
    """Our espeak voice by its id (pyttsx3's espeak driver), else the first voice of the language (SAPI5, NSSpeech).
    Never by language on espeak: its plain `cmn` voice would read Hanzi with English phonemes."""
    for v in available:
        if str(v.id).casefold() == voice.casefold():
            return v.id
    if not by_language:
        return None
    tags = LANGUAGE_TAGS.get(language, (language.casefold(),))
    for tag in tags:
        for v in available:
            if any(str(lang).replace("-", "_").casefold().startswith(tag) for lang in v.languages or ()):
                return v.id
    return None


def _limits(driver: str) -> tuple[str, ...]:
    """What this pyttsx3 driver cannot honour, measured here (espeak) or read in its source (sapi5, nsss).
    Interruption is not among them: the worker plays every back-end's WAV through a player it can kill."""
    if driver == "espeak":
        return (
            "a changed rate or voice reaches libespeak through its own queue: 20 ms waited after each change "
            "(none of 1,600 wrong here, 1 in 300 without); a heavily loaded terminal may still say one at the old rate",
            "the driver now and then cuts a prompt or writes it empty: made again once (1 in ~80 here)",
        )
    if driver == "sapi5":
        return ("SAPI5 takes the rate in steps (−10…10, pyttsx3 maps words a minute onto them): 慢速 is coarse",)
    if driver == "nsss":
        return ("NSSpeech writes AIFF, turned into WAV here (not tried on a Mac; Python 3.13 has no aifc)",)
    return ()


def _frames(wav: bytes) -> int:
    with contextlib.suppress(wave.Error, EOFError), wave.open(io.BytesIO(wav)) as w:
        return w.getnframes()
    return 0


def _as_wav(data: bytes) -> bytes | None:
    """WAV as it is; AIFF (NSSpeech writes nothing else) turned into WAV; None for anything else or nothing."""
    if data[:4] == b"RIFF":
        return data
    if data[:4] != b"FORM" or sys.version_info >= (3, 13):
        return None  # aifc left the standard library in 3.13
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import aifc
    with aifc.open(io.BytesIO(data)) as aiff:
        channels, width, rate = aiff.getnchannels(), aiff.getsampwidth(), aiff.getframerate()
        frames = bytearray(aiff.readframes(aiff.getnframes()))
    if width == 2:
        frames[0::2], frames[1::2] = frames[1::2], frames[0::2]  # AIFF is big-endian, WAV little-endian
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()
