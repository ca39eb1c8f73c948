"""The voice's process, below the screen (`python -m hardware.speech_worker`): the speech worker thread
(hardware/speech.py) with its synthesis, numpy's levelling, the voice pack and the player, away from the window.

The window's side (hardware/speech_process.py) sends it a setup line and then what to say, stop, prepare or set,
and has already refused what must not be said (kiosk.privacy.check_private: the session's secrets stay in the
window's process). It hears back `ready` (with the voice pack's coverage line), `state` when the voice's state
changes, and `audio` for each clip handed to the player (the WAV too, when the setup asks for it).
"""

from __future__ import annotations

import base64
import threading
import time

from hardware.speech import Speech
from hardware.voice import Audio
from kiosk.voicepack import Prompt, coverage
from kiosk.worker import Events, serve, setup_line

STATE_EVERY_S = 0.1  # how often the voice's state is compared with what the window last heard


class SpeechWorker:
    def __init__(self, setup: dict) -> None:
        self.events = Events()
        self.send_wav = bool(setup.get("wav"))
        self.prompts = [Prompt(*words) for words in setup.get("prompts", [])]
        self.speech = Speech(**setup.get("speech", {}), on_audio=self._heard)
        self.speech.citizen_db = float(setup.get("citizen_db", 0.0))

    def _heard(self, audio: Audio) -> None:
        wav, words = (base64.b64encode(audio.wav).decode("ascii"), audio.words) if self.send_wav else ("", "")
        self.events.send(event="audio", seconds=audio.seconds, peak=audio.peak, recorded=audio.recorded, wav=wav,
                         words=words, spoken=self.speech.state.spoken)  # fmt: skip

    def _state(self) -> dict:
        state = self.speech.state
        return {"status": state.status, "detail": state.detail, "engine": state.engine, "limits": list(state.limits),
                "spoken": state.spoken, "preparing": self.speech.preparing}  # fmt: skip

    def _report(self) -> None:
        """`ready` once the engine is up and the pack loaded; then the state whenever it changes."""
        self.speech.ready.wait()
        pack = self.speech.pack
        line = coverage(pack.clips, self.prompts, pack).line() if self.speech.pack_dir is not None else ""
        last = self._state()
        self.events.send(event="ready", pack_line=line, **last)
        while True:
            time.sleep(STATE_EVERY_S)
            now = self._state()
            if now != last:
                last = now
                self.events.send(event="state", **now)

    def handle(self, request: dict) -> None:
        what = request.get("do")
        if what == "say":
            self.speech.say(request["text"], request.get("language", "zh_CN"), request.get("slower", False),
                            request.get("cache", False), request.get("interrupt", True),
                            request.get("detect", False))  # fmt: skip
        elif what == "stop":
            self.speech.stop()
        elif what == "prepare":
            self.speech.prepare([(text, language) for text, language in request["prompts"]])
        elif what == "set":
            self.speech.volume = float(request.get("volume", self.speech.volume))
            self.speech.citizen_db = float(request.get("citizen_db", self.speech.citizen_db))

    def run(self) -> None:
        self.speech.start()
        threading.Thread(target=self._report, name="speech-state", daemon=True).start()
        serve(self.events, self.handle, "speech worker", at_end=self.speech.close)


def main() -> None:
    SpeechWorker(setup_line()).run()


if __name__ == "__main__":
    main()
