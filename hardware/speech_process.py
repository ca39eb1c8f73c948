"""The window's side of the voice's process (hardware/speech_worker.py): what ui/app.py drives as its speech.

The same calls as the speech worker thread had (say, prepare, stop, the volume and the citizen's louder/quieter),
now sent in JSON lines to a process at nice 10 that kiosk/worker.py keeps alive. What stays here: the privacy
guard (the session's secrets never leave the window's process), and the wait for the new screen to be drawn
before its prompt is sent (kiosk.priority.ScreenFirst), on a thread of its own. Imports no numpy (the import
contract in pyproject.toml, and tests/faults/test_network_worker.py lists a running kiosk's modules).
"""

from __future__ import annotations

import base64
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hardware.voice import Audio, SpeechState, may_say
from kiosk.worker import WorkerProcess

log = logging.getLogger(__name__)


class SpeechProcess:
    """`say()` replaces whatever is being said; `stop()` is silence. `on_audio(audio)` is called on the `speech`
    thread as each clip reaches the player (its WAV and words only with wav=True: a test's or doctor's ears)."""

    def __init__(
        self, on_audio: Callable[[Audio], None] = lambda audio: None, prompts: Sequence[tuple[str, str, str]] = (),
        wav: bool = False, **options: Any,
    ) -> None:  # fmt: skip
        """`options` are the speech worker's (hardware.speech.Speech: rate, volume, voices, player, pack, engine);
        `prompts` today's fixed prompts (key, language, words), for the voice pack's coverage."""
        self.on_audio = on_audio
        if options.get("pack") is not None:
            options["pack"] = str(Path(options["pack"]).resolve())  # the voice's process runs in the checkout
        self._setup = {"speech": options, "prompts": [list(p) for p in prompts], "wav": wav}
        self.state = SpeechState()
        self.secrets: tuple[str, ...] = ()  # this session's personal values; the guard refuses them
        self.pack_line = ""  # the voice pack's coverage, as the voice's process loaded it
        self.preparing = 0  # fixed prompts the voice's process has still to make while idle
        self.ready = threading.Event()
        self.wait_for_screen: Callable[[], object] = lambda: None  # the kiosk's: kiosk.priority.ScreenFirst
        self._volume, self._citizen_db = float(options.get("volume", 0.9)), 0.0
        self._prepared: list[list[str]] = []
        self._spoken_before = 0  # prompts played by voice processes since replaced
        self._lock = threading.Lock()
        self._generation = 0
        self._outgoing: deque[tuple[int, dict]] = deque()
        self._wake = threading.Event()
        self._closing = False
        self.worker = WorkerProcess("speech worker", "hardware.speech_worker", self._setup_now, self._heard,
                                    on_start=self._tell_again, on_change=self._changed)  # fmt: skip
        self._sender = threading.Thread(target=self._send_when_drawn, name="speech-send", daemon=True)

    # -- what the window sets ---------------------------------------------------------------------
    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = value
        self.worker.send({"do": "set", "volume": value})

    @property
    def citizen_db(self) -> float:
        """The citizen's louder/quieter on top of the hall's volume, from the session's preferences."""
        return self._citizen_db

    @citizen_db.setter
    def citizen_db(self, value: float) -> None:
        if value != self._citizen_db:
            self._citizen_db = value
            self.worker.send({"do": "set", "citizen_db": value})

    # -- from any thread -----------------------------------------------------------------------
    def start(self) -> None:
        self.worker.start()
        self._sender.start()

    def say(
        self, text: str, language: str = "zh_CN", slower: bool = False, cache: bool = False,
        interrupt: bool = True, detect: bool = False,
    ) -> bool:  # fmt: skip
        """Speak `text`, cutting off what is being said (or after it, with interrupt=False). Returns False when
        the privacy guard refused the text: it never reaches the voice's process."""
        if not may_say(text, self.secrets, self.state):
            return False
        request = {"do": "say", "text": text, "language": language, "slower": slower, "cache": cache,
                   "interrupt": interrupt, "detect": detect}  # fmt: skip
        with self._lock:
            if interrupt:
                self._silence()  # the old prompt stops now; the new one is sent once its screen is drawn
            self._outgoing.append((self._generation, request))
        self._wake.set()
        return True

    def prepare(self, prompts: Sequence[tuple[str, str]]) -> None:
        """Synthesize fixed prompts (text, language) while idle, so that saying them later starts at once."""
        self._prepared = [[text, language] for text, language in prompts]
        self.worker.send({"do": "prepare", "prompts": self._prepared})

    def stop(self) -> None:
        """Silence (a prompt asked for and not yet sent is dropped too)."""
        with self._lock:
            self._silence()

    def close(self) -> None:
        self._closing = True
        self.stop()
        self._wake.set()
        self.worker.stop()

    def _silence(self) -> None:
        """Under the lock: what was asked before is dropped, here and in the voice's process."""
        self._generation += 1
        self._outgoing.clear()
        self.worker.send({"do": "stop"})

    def _send_when_drawn(self) -> None:
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._outgoing:
                        break
                    generation, request = self._outgoing.popleft()
                self.wait_for_screen()  # a new screen is drawn first; its prompt is made and played after
                with self._lock:
                    if generation == self._generation:  # not silenced meanwhile
                        self.worker.send(request)

    # -- what the voice's process says ------------------------------------------------------------
    def _heard(self, event: dict) -> None:
        kind = event["event"]
        if kind in ("ready", "state"):
            self.state.status, self.state.detail = event["status"], event["detail"]
            self.state.engine, self.state.limits = event["engine"], tuple(event["limits"])
            self.state.spoken, self.preparing = self._spoken_before + event["spoken"], event["preparing"]
            if kind == "ready":
                self.pack_line = event["pack_line"]
                self.ready.set()
        elif kind == "audio":
            self.state.spoken = self._spoken_before + event["spoken"]
            wav = base64.b64decode(event["wav"]) if event.get("wav") else b""
            self.on_audio(Audio(wav, event["seconds"], event["peak"], event["recorded"], event.get("words", "")))

    def _setup_now(self) -> dict:
        """A new voice's process starts at the hall's volume and the citizen's, as they are now."""
        speech = {**self._setup["speech"], "volume": self._volume}
        return {**self._setup, "speech": speech, "citizen_db": self._citizen_db}

    def _changed(self) -> None:
        """Staff and the heartbeat see a voice that is starting again, not the last one's "ready"."""
        if not self.worker.running() and self.worker.restarts:
            self.state.status, self.state.detail = "starting", f"started again ({self.worker.last_exit})"

    def _tell_again(self) -> None:
        """A new voice's process: what it has played is counted on, and it prepares the fixed prompts again."""
        self._spoken_before = self.state.spoken
        if self._prepared:
            self.worker.send({"do": "prepare", "prompts": self._prepared})
