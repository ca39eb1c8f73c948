"""The voice: one worker thread that makes each prompt a WAV, checks it, and plays it through a player we can stop.

The kiosk runs it in the voice's own process below the screen (hardware/speech_worker.py: numpy's levelling and
the WAV work are never the window's), `ss-kiosk doctor` in its own.

The worker asks a speech back-end (hardware/synthesis.py: espeak-ng's command line by default, or pyttsx3)
for each prompt as WAV, checks the audio it got, and hands it to a player process it can kill: a new `say()`
stops the old prompt at once, whichever back-end made it. Fixed prompts are kept in memory once synthesized;
personal ones (a greeting with a surname) are never cached, and never kept on disk.

A hall's voice pack (kiosk/voicepack.py) replaces synthesis for the fixed prompts it records, looked up by the
prompt's very words and language, so a reworded prompt is synthesized. Every clip, recorded or synthesized, is
levelled once to one loudness (kiosk/loudness.py, EBU R128); the staff volume and the citizen's louder/quieter
are a gain on top, applied as the clip is handed to the player.

Why pyttsx3 2.99 never plays for us: its espeak driver plays by running `aplay` itself (no way to cut an
utterance short), and rate and voice changes reach libespeak asynchronously: measured here, the
"slower" prompt came out at the normal rate in 5 of 15 runs through pyttsx3's queue and in 17 of
20 when set on its driver directly. espeak-ng's command line takes voice, rate and volume with each
prompt, so every prompt is said the way it was asked for (10–20 ms a sentence); the pyttsx3 back-end only
renders to a file, and waits for its settings to land (hardware/synthesis.py says how, and what remains).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import subprocess
import threading
import time
import wave
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hardware.synthesis import Synthesizer, choose, true_header
from hardware.voice import Audio, SpeechState, may_say
from kiosk import loudness
from kiosk.voicepack import LoadedPack
from kiosk.voicepack import load as load_pack

log = logging.getLogger(__name__)

VOICES = {"zh_CN": "sit/cmn-latn-pinyin", "yue": "sit/yue", "en": "gmw/en"}  # plain `cmn` reads Hanzi as English
CHINESE = ("zh_CN", "yue")  # speech languages that say the (Simplified) Chinese prompts: Mandarin, Cantonese
REQUIRED_VOICES = ("zh_CN", "en")  # without these the kiosk is mute; Cantonese falls back to Mandarin
SLOWER = 0.75  # the "慢速" toggle
CACHED_PROMPTS = 128
APLAY = ("aplay", "-q", "-")  # WAV on standard input: nothing on disk


# -- numbers and dates as a listener hears them ------------------------------------------------------
_DIGITS = "零一二三四五六七八九"
_YEAR_DIGITS = "〇一二三四五六七八九"  # years are read digit by digit: 二〇二六年
_UNITS = ((100_000_000, "亿"), (10_000, "万"), (1000, "千"), (100, "百"), (10, "十"))
# Cantonese says 两 for a 2 that counts: 两千, 两万, 两次, 两元 (but 二十, 十二, 二月, 二〇二六年).
_BIG_TWO = re.compile(r"(?<![一二三四五六七八九十百千万亿零])二(?=[千万亿])")
_COUNTED = "次个条位天张项本份件周秒元块角分小"  # after these a lone 2 is said 两 (分 is 分钟 too, 小 is 小时)
_COUNTED_BY = {"zh_CN": _COUNTED, "yue": _COUNTED + "蚊毫"}
_NUMBER = {lang: re.compile(r"(第?)(\d+)(?=([" + counted + r"])?)") for lang, counted in _COUNTED_BY.items()}
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_MONEY = re.compile(r"(\d+)\.(\d{1,2})元")


def chinese_number(n: int) -> str:
    """1078 → 一千零七十八, 12 → 十二, 30 → 三十."""
    if n < 10:
        return _DIGITS[n]
    for unit, name in _UNITS:
        if n >= unit:
            head, rest = divmod(n, unit)
            spoken = ("" if unit == 10 and head == 1 else chinese_number(head)) + name
            if rest:
                spoken += ("零" if rest < unit // 10 else "") + chinese_number(rest)
            return spoken
    return str(n)


def counted_number(n: int, counted: bool = False) -> str:
    """As it is said: 2000 → 两千, 20000 → 两万; a counted 2 (2次, 2元) → 两; 12 → 十二, 20 → 二十."""
    if n == 2 and counted:
        return "两"
    return _BIG_TWO.sub("两", chinese_number(n))


def _yuan(m: re.Match[str]) -> str:
    """3260.50元 → 三千二百六十元五角, 98.05元 → 九十八元零五分, 0.5元 → 五角: money as it is said, not 点五零."""
    whole, cents = int(m.group(1)), int(m.group(2).ljust(2, "0"))
    jiao, fen = divmod(cents, 10)
    spoken = counted_number(whole, counted=True) + "元" if whole or not cents else ""
    if jiao:
        spoken += counted_number(jiao, counted=True) + "角"
    if fen:
        spoken += ("零" if whole and not jiao else "") + counted_number(fen, counted=True) + "分"
    return spoken


def speakable(text: str, language: str) -> str:
    """Chinese: years digit by digit (二〇二六年), other numbers as numbers (九十八元, 三点五); English as is.

    Cantonese (espeak-ng's yue reads a 3 in Arabic digits with no Cantonese tone, drops 零 in 2026 and 点 in 3.5):
    every number in Chinese numerals, dates with dashes as 年月日, money in 元角分. Both: 两 where a 2 counts (两次,
    两千), 二 where it does not (二月, 第二次, 十二)."""
    if language not in CHINESE:
        return text
    yue = language == "yue"
    if yue:
        text = _ISO_DATE.sub(lambda m: f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日", text)
        text = _MONEY.sub(_yuan, text)
    text = re.sub(r"(\d{4})年", lambda m: "".join(_YEAR_DIGITS[int(d)] for d in m.group(1)) + "年", text)
    text = re.sub(r"(\d+)\.(\d+)", lambda m: chinese_number(int(m.group(1))) + "点" + "".join(
        _DIGITS[int(d)] for d in m.group(2)), text)  # fmt: skip
    return _NUMBER[language].sub(
        lambda m: m.group(1) + counted_number(int(m.group(2)), counted=bool(m.group(3)) and not m.group(1)), text
    )


def language_of(text: str, fallback: str) -> str:
    """Notices come in Chinese whatever the screen language: Hanzi in the citizen's Chinese voice (Mandarin when
    the screen is English)."""
    if re.search(r"[\u4e00-\u9fff]", text):
        return fallback if fallback in CHINESE else "zh_CN"
    return fallback


# -- audio checks ------------------------------------------------------------------------------
def inspect_wav(wav: bytes) -> Audio:
    with wave.open(io.BytesIO(wav)) as w:
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate() if w.getframerate() else 0.0
        width = w.getsampwidth()
    peak = 0
    if width == 2 and len(frames) >= 2:
        # In numpy, not max() over the samples in Python, which held the GIL 13 ms for a 10 s prompt while the GUI
        # thread waited to change the screen.
        samples = np.frombuffer(frames[: len(frames) // 2 * 2], dtype="<i2")
        peak = max(int(samples.max()), -int(samples.min()))
    return Audio(wav, seconds, peak)


def levelled(audio: Audio) -> Audio:
    """At the kiosk's loudness target (held under clipping)."""
    return _changed(audio, lambda pcm: loudness.with_gain(loudness.normalize(pcm), 1.0))


def at_gain(audio: Audio, gain: float) -> Audio:
    """A levelled clip with the staff volume and the citizen's louder/quieter on top."""
    if abs(gain - 1.0) < 1e-3:
        return audio
    return _changed(audio, lambda pcm: loudness.with_gain(pcm, gain))


def _changed(audio: Audio, change: Callable[[loudness.Pcm], loudness.Pcm]) -> Audio:
    pcm, _ = loudness.read_wav(audio.wav)
    return replace(inspect_wav(loudness.to_wav(change(pcm))), recorded=audio.recorded)


# -- the worker -------------------------------------------------------------------------------------
@dataclass
class _Request:
    text: str
    language: str
    slower: bool
    cache: bool
    generation: int
    detect: bool = False
    interrupt: bool = True
    gain: float = 1.0  # staff volume times the citizen's louder/quieter, as they were when it was asked for


class Speech(threading.Thread):
    """`say()` replaces whatever is being said; `repeat()` says the last prompt again; `stop()` is silence."""

    def __init__(
        self,
        rate: int = 150,
        volume: float = 0.9,
        voices: dict[str, str] | None = None,
        player: Sequence[str] | None = None,
        on_audio: Callable[[Audio], None] = lambda audio: None,
        pack: str | Path | None = None,
        engine: str = "auto",
        synthesizer: Synthesizer | None = None,
    ) -> None:
        super().__init__(name="speech", daemon=True)
        self.rate, self.volume = rate, volume
        self.voices = dict(voices or VOICES)
        self.player = tuple(player) if player else _default_player()
        self.on_audio = on_audio
        self.engine, self.synthesizer = engine, synthesizer  # [voice] engine, or a back-end made by the caller
        self._engine: Synthesizer | None = None
        self.state = SpeechState()
        self.secrets: tuple[str, ...] = ()  # this session's personal values; the guard refuses them
        self.citizen_db = 0.0  # the citizen's louder/quieter, set from the session's preferences
        self.pack_dir = Path(pack) if pack else None
        self.pack = LoadedPack()  # loaded on the worker thread, before it says anything
        self._cache: OrderedDict[tuple, Audio] = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: deque[_Request] = deque()
        self._prepare: list[_Request] = []
        self._last: _Request | None = None
        self._generation = 0
        self._playing: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self.ready = threading.Event()

    # -- from any thread -----------------------------------------------------------------------
    def say(
        self, text: str, language: str = "zh_CN", slower: bool = False, cache: bool = False,
        interrupt: bool = True, detect: bool = False,
    ) -> bool:  # fmt: skip
        """Speak `text`, cutting off what is being said (or after it, with interrupt=False). `cache`: a
        fixed prompt worth keeping; `detect`: pick the voice from the text (notices come in Chinese).
        Returns False when the privacy guard refused the text."""
        if not may_say(text, self.secrets, self.state):
            return False
        with self._lock:
            if interrupt:
                self._generation += 1
                self._kill_player()
                self._pending.clear()
            gain = self.volume * 10 ** (self.citizen_db / 20)
            request = _Request(text, language, slower, cache, self._generation, detect, interrupt, gain)
            self._pending.append(request)  # a non-interrupting prompt queues behind what is to be said
            self._last = request
        self._wake.set()
        return True

    def prepare(self, prompts: Sequence[tuple[str, str]]) -> None:
        """Synthesize fixed prompts (text, language) while idle, so that saying them later starts at once."""
        with self._lock:
            self._prepare.extend(_Request(t, lang, False, True, -1) for t, lang in prompts)
        self._wake.set()

    @property
    def preparing(self) -> int:
        """Fixed prompts still to be made while idle."""
        return len(self._prepare)

    def repeat(self) -> None:
        last = self._last
        if last is not None:
            self.say(last.text, last.language, last.slower, last.cache, detect=last.detect)

    def stop(self) -> None:
        """Silence, and forget the last prompt (it may be a citizen's notice)."""
        with self._lock:
            self._generation += 1
            self._pending.clear()
            self._last = None
            self._kill_player()

    def close(self) -> None:
        self._stopping = True
        self.stop()
        self._wake.set()
        self.join(5)
        if self._engine is not None and not self.is_alive():
            self._engine.close()  # pyttsx3's private folder goes with it

    def _kill_player(self) -> None:
        """Under the lock: the old prompt stops in the same step as the new one is set (no race with the worker)."""
        playing, self._playing = self._playing, None
        if playing is not None and playing.poll() is None:
            playing.kill()

    # -- the worker thread ---------------------------------------------------------------------
    def run(self) -> None:
        engine = self._engine = self._start_engine()
        if self.pack_dir is not None:
            self.pack = load_pack(self.pack_dir)  # levelling every clip here, once, not on the GUI thread
            for problem in self.pack.problems:
                log.warning("voice pack: %s", problem.line())
            if self.pack.error:
                log.error("voice pack not used: %s", self.pack.error)
        self.ready.set()
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                request = self._pending.popleft() if self._pending else None
                warm = self._prepare.pop(0) if request is None and self._prepare else None
                if self._pending or self._prepare:
                    self._wake.set()  # more to say after this one; or to prepare, once nothing is to be said
            if engine is None and not self.pack.clips:
                continue
            if warm is not None:
                with contextlib.suppress(Exception):
                    self._synthesize(engine, warm)
                continue
            if request is None:
                continue
            try:
                audio = self._synthesize(engine, request)
            except Exception:  # a voice that fails must not take the kiosk down: it goes on silently
                log.exception("speech synthesis failed")
                continue
            if audio is None or request.generation != self._generation:
                continue  # a newer prompt came while this one was being made
            if not request.interrupt:
                self._wait_for_silence(request.generation)
            self._play(replace(at_gain(audio, request.gain), words=request.text), request.generation)

    def _wait_for_silence(self, generation: int) -> None:
        """A prompt that must not cut another waits for it (unless a newer prompt takes over)."""
        while generation == self._generation and not self._stopping:
            playing = self._playing
            if playing is None or playing.poll() is not None:
                return
            time.sleep(0.02)

    def _start_engine(self) -> Synthesizer | None:
        """On the worker's thread: pyttsx3 engines must be made and run on the one thread that uses them."""
        engine = self.synthesizer if self.synthesizer is not None else choose(self.engine)
        started = engine.start(self.voices)
        absent = [lang for lang in started.missing if lang in CHINESE and lang not in REQUIRED_VOICES]
        if absent:  # Cantonese missing: said in Mandarin rather than not at all
            for language in absent:
                log.warning("voice %s for %s missing: Mandarin instead", self.voices[language], language)
                self.voices[language] = self.voices["zh_CN"]
            engine.close()
            started = engine.start(self.voices)
        problem = started.problem
        self.state.engine, self.state.limits = engine.name, engine.limits  # pyttsx3 knows its driver once started
        if problem:
            self.state.status, self.state.detail = "no_voice", problem
            log.error("no voice: %s", self.state.detail)
            engine.close()
            return None
        if not self.player:
            self.state.status, self.state.detail = "no_audio_device", "no sound card (aplay -l finds none)"
            log.warning("speech is silent: %s", self.state.detail)
            return engine  # still synthesizes, so the audio can be checked; nothing is played
        self.state.status = "ready"
        return engine

    def _synthesize(self, engine: Synthesizer | None, request: _Request) -> Audio | None:
        """The levelled clip for a request: the hall's recording of these words, else the back-end's."""
        language = language_of(request.text, request.language) if request.detect else request.language
        text = speakable(request.text, language)
        rate = round(self.rate * (SLOWER if request.slower else 1.0))
        key = (text, language, rate)
        if request.cache and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        audio = self._recorded(request.text.strip(), language, request.slower)
        if audio is None:
            if engine is None:
                return None
            audio = self._render(engine, text, self.voices[language], rate)
            if audio is None or audio.seconds < 0.05 or audio.peak == 0:
                log.warning("speech synthesis gave no audio")
                return None
            audio = levelled(audio)
        if request.cache:
            self._cache[key] = audio
            while len(self._cache) > CACHED_PROMPTS:
                self._cache.popitem(last=False)
        return audio

    def _recorded(self, text: str, language: str, slower: bool) -> Audio | None:
        """The pack's clip of exactly these words; slower through sox's tempo (the pitch stays), if sox is here."""
        pcm = self.pack.clips.get((text, language))
        if pcm is None:
            return None
        audio = replace(inspect_wav(loudness.to_wav(pcm)), recorded=True)
        if not slower:
            return audio
        sox = shutil.which("sox")
        if sox is None:
            return None  # synthesized at the slower rate instead
        done = subprocess.run([sox, "-q", "-t", "wav", "-", "-t", "wav", "-", "tempo", "-s", str(SLOWER)],
                              input=audio.wav, capture_output=True, timeout=30)  # fmt: skip
        if done.returncode != 0 or done.stdout[:4] != b"RIFF":
            return None
        return replace(levelled(_true_header(done.stdout)), recorded=True)

    def _render(self, engine: Synthesizer, text: str, voice: str, rate: int) -> Audio | None:
        wav = engine.render(text, voice, rate, 1.0)  # full amplitude: levelled after, the volume on top
        return inspect_wav(wav) if wav else None

    def _play(self, audio: Audio, generation: int) -> None:
        self.state.spoken += 1
        self.on_audio(audio)
        if not self.player:
            return
        try:
            process = subprocess.Popen(self.player, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)  # fmt: skip
        except OSError as e:
            self.state.status, self.state.detail = "no_audio_device", f"the player does not start ({e.strerror})"
            return
        with self._lock:
            if generation != self._generation:
                process.kill()
                return
            self._playing = process
        try:
            assert process.stdin is not None
            process.stdin.write(audio.wav)
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # stopped while we were still handing it the audio


def _true_header(raw: bytes) -> Audio:
    return inspect_wav(true_header(raw))


def _default_player() -> tuple[str, ...]:
    """aplay when there is a sound card; none (silent) otherwise."""
    if shutil.which("aplay") is None:
        return ()
    try:
        cards = subprocess.run(["aplay", "-l"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return APLAY if "card " in cards.stdout else ()
