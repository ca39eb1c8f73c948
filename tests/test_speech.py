"""The voice, with real audio: every prompt exists in both languages, sounds, is Mandarin, and stops.

The tests that make audio run through each speech back-end (hardware/synthesis.py): espeak-ng's command
line, and pyttsx3 through its espeak driver (the same libespeak-ng, reached another way)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.speech import VOICES, Audio, Speech, inspect_wav, language_of, speakable
from hardware.synthesis import EspeakCommandLine, Pyttsx3Engine, Synthesizer, choose
from kiosk.card import CardFault
from kiosk.privacy import SpeechRefused, check_private
from kiosk.session import Screen
from ui.texts import SPOKEN, TEXTS, spoken

SINK = [sys.executable, str(Path(__file__).resolve().parent / "paced_sink.py")]
SAMPLE_PARAMS = {"tries": "2", "seconds": "30", "surname": "王", "honorific": "先生", "date": "2026年12月31日"}


class Heard:
    """The audio the worker handed to the player, as it was handed."""

    def __init__(self) -> None:
        self.audio: list[Audio] = []
        self.event = threading.Event()

    def __call__(self, audio: Audio) -> None:
        self.audio.append(audio)
        self.event.set()

    def next(self, timeout: float = 5.0) -> Audio:
        assert self.event.wait(timeout), "no audio came"
        self.event.clear()
        return self.audio[-1]


ENGINES = ["espeak-ng", "pyttsx3"]


def make_engine(name: str) -> Synthesizer:
    return EspeakCommandLine() if name == "espeak-ng" else Pyttsx3Engine("espeak")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def voice(engine: str) -> Iterator[tuple[Speech, Heard]]:
    heard = Heard()
    # No sound card here: the audio is checked, not played.
    speech = Speech(player=(), on_audio=heard, synthesizer=make_engine(engine))
    speech.start()
    assert speech.ready.wait(10)
    assert speech.state.status == "no_audio_device", speech.state.detail
    yield speech, heard
    speech.close()


def params_for(key: str, language: str) -> dict[str, str]:
    params = {name: SAMPLE_PARAMS[name] for name in re.findall(r"{(\w+)}", TEXTS[key])}
    if "honorific" in params:
        params["honorific"] = spoken("honorific.male", language)
    return params


def prompt_texts() -> list[tuple[str, str, str]]:
    return [
        (key, lang, spoken(key, lang, **params_for(key, lang))) for key in sorted(SPOKEN) for lang in ("zh_CN", "en")
    ]


def test_every_prompt_the_session_can_ask_for_has_words_in_both_languages() -> None:
    source = (Path(__file__).resolve().parent.parent / "kiosk" / "session.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'Speak\("([a-z_.]+)"', source))
    keys |= {f"{screen.value}.prompt" for screen in Screen if screen not in (Screen.NOTICES, Screen.DETAIL,
                                                                              Screen.CARD_PROBLEM)}  # fmt: skip
    keys |= {f"card_problem.{fault.value}" for fault in CardFault}
    keys |= {f"detail.{action}_done" for action in ("read", "mute_category", "remind_later")}
    assert keys - SPOKEN == set(), "prompts the session asks for but the voice does not know"
    for key in SPOKEN:
        assert TEXTS[key], key
        english = spoken(key, "en", **params_for(key, "en"))
        assert english and not re.search(r"[\u4e00-\u9fff]", english.replace("王", "")), f"{key} not in English"


def test_every_prompt_sounds_in_both_languages_and_takes_a_sensible_time(voice: tuple[Speech, Heard]) -> None:
    speech, heard = voice
    for key, language, words in prompt_texts():
        speech.say(words, language)
        audio = heard.next()
        assert audio.peak > 1000, f"{key} ({language}) is silent"
        if language == "zh_CN":
            characters = len(re.findall(r"[\u4e00-\u9fff]", speakable(words, language)))
            low, high = characters / 8, characters / 1.5 + 1  # Mandarin: a few syllables a second
        else:
            characters = len(words.split())
            low, high = characters / 5, characters / 0.8 + 1  # English words at a calm pace
        assert low <= audio.seconds <= high, f"{key} ({language}): {audio.seconds:.1f} s for {characters}"


def test_chinese_prompts_use_mandarin_phonemes_not_english_letters() -> None:
    assert VOICES["zh_CN"] == "sit/cmn-latn-pinyin"
    for key, language, words in prompt_texts():
        if language != "zh_CN":
            continue
        phonemes = subprocess.run(["espeak-ng", "-v", VOICES["zh_CN"], "-q", "-x", speakable(words, language)],
                                  capture_output=True, text=True, timeout=30).stdout  # fmt: skip
        assert re.search(r"\d{2,3}", phonemes), f"{key}: no Mandarin tones in {phonemes!r}"
        assert "tS'aIni:z" not in phonemes, f"{key}: read as 'Chinese letter' by an English voice"
    english_voice = subprocess.run(["espeak-ng", "-v", "gmw/en", "-q", "-x", "请插入社保卡"],
                                   capture_output=True, text=True, timeout=30).stdout  # fmt: skip
    assert "tS'aIni:z" in english_voice, "the check above must be able to fail"


def test_a_new_prompt_stops_the_old_one_within_100_ms(engine: str) -> None:
    speech = Speech(player=SINK, synthesizer=make_engine(engine))
    speech.start()
    try:
        speech.say(spoken("attract.prompt", "zh_CN"), "zh_CN")
        deadline = time.monotonic() + 5
        while speech._playing is None and time.monotonic() < deadline:
            time.sleep(0.005)
        old = speech._playing
        assert old is not None and old.poll() is None, "the first prompt is playing"
        started = time.monotonic()
        speech.say(spoken("reading.prompt", "zh_CN"), "zh_CN")
        while old.poll() is None and time.monotonic() - started < 1:
            time.sleep(0.001)
        stopped_after = time.monotonic() - started
        assert old.poll() is not None and stopped_after < 0.1, f"the old prompt went on for {stopped_after:.3f} s"
        while (speech._playing is None or speech._playing is old) and time.monotonic() - started < 5:
            time.sleep(0.005)
        assert speech._playing is not old and speech._playing.poll() is None, "the new prompt plays"
        speech.stop()
        assert speech._playing is None
    finally:
        speech.close()


def test_repeat_says_the_last_prompt_again(voice: tuple[Speech, Heard]) -> None:
    speech, heard = voice
    speech.say("请取回您的社保卡。", "zh_CN", cache=True)
    first = heard.next()
    speech.repeat()
    assert heard.next().wav == first.wav


def test_slower_is_slower(voice: tuple[Speech, Heard]) -> None:
    speech, heard = voice
    speech.say("请输入六位社保卡密码。", "zh_CN")
    normal = heard.next().seconds
    speech.say("请输入六位社保卡密码。", "zh_CN", slower=True)
    assert heard.next().seconds > normal * 1.2


def test_the_slower_toggle_is_heard_every_time_it_changes(voice: tuple[Speech, Heard]) -> None:
    """pyttsx3 hands a changed rate to libespeak's own queue, where it was lost while the engine was busy (11 in 30)."""
    speech, heard = voice
    for turn in range(6):
        speech.say("请取回您的社保卡。", "zh_CN")
        normal = heard.next().seconds
        speech.say("请取回您的社保卡。", "zh_CN", slower=True)
        assert heard.next().seconds > normal * 1.2, f"turn {turn}: 慢速 was not heard"


@pytest.mark.parametrize(
    "text",
    [
        "您的社会保障号码是110105194803151234",
        "卡号A10000001",
        "密码123456",
        "密码 1 2 3 4 5 6",
        "1101-0519-4803",
    ],
)
def test_the_guard_refuses_personal_numbers(text: str) -> None:
    with pytest.raises(SpeechRefused):
        check_private(text)


def test_the_guard_refuses_this_sessions_secrets_and_lets_greetings_and_amounts_through() -> None:
    secrets = ("110105194803151234", "A10000001", "王明")
    with pytest.raises(SpeechRefused):
        check_private("王明，您好", secrets)
    for fine in ("王先生，您好！", "截止2026年12月31日", "补发1078元，报销3260.50元", "请拨打12333"):
        check_private(fine, secrets)


def test_refused_text_never_reaches_the_engine(voice: tuple[Speech, Heard]) -> None:
    speech, heard = voice
    speech.secrets = ("110105194803151234",)
    speech.say("您的号码是110105194803151234", "zh_CN")
    assert not heard.event.wait(0.5) and speech.state.refused == 1


def test_numbers_and_dates_read_naturally() -> None:
    assert speakable("截止2026年12月31日，补发1078元", "zh_CN") == "截止二〇二六年十二月三十一日，补发一千零七十八元"
    assert speakable("报销3260.50元", "zh_CN") == "报销三千二百六十点五零元"
    assert speakable("还可以试2次，补发2000元", "zh_CN") == "还可以试两次，补发两千元"  # 两 where a 2 counts
    assert speakable("第2次，2月22日，12条", "zh_CN") == "第二次，二月二十二日，十二条"  # 二 where it does not
    assert spoken("card_expired.body", "en", date="June 30, 2024").startswith("It was valid until June 30, 2024")


@pytest.mark.parametrize(
    "text",
    ["社会保障号110,105,194,803,151,234", "号码一一〇一〇五一九四八〇三一五一二三四", "卡号 A1000 0001"],
)
def test_the_guard_sees_through_commas_chinese_numerals_and_spaces(text: str) -> None:
    with pytest.raises(SpeechRefused):
        check_private(text, ("110105194803151234", "A10000001"))


def test_dates_with_dashes_are_not_personal_numbers() -> None:
    check_private("截止日期2026-12-31，请按时办理")


def test_a_prompt_that_must_not_cut_another_waits_for_it(engine: str) -> None:
    speech = Speech(player=SINK, synthesizer=make_engine(engine))
    speech.start()
    try:
        speech.say("王先生，您好！", "zh_CN")
        speech.say("请尽快做养老金认证。", "zh_CN", interrupt=False)
        deadline = time.monotonic() + 5
        while speech._playing is None and time.monotonic() < deadline:
            time.sleep(0.005)
        greeting = speech._playing
        time.sleep(0.3)
        assert greeting is not None and greeting.poll() is None, "the greeting is not cut"
        while greeting.poll() is None and time.monotonic() < deadline + 10:
            time.sleep(0.02)
        while speech._playing is greeting and time.monotonic() < deadline + 10:
            time.sleep(0.02)
        assert speech._playing is not None and speech._playing is not greeting, "then the notice"
    finally:
        speech.close()


def test_prompts_prepared_at_start_are_made_even_after_something_was_said(voice: tuple[Speech, Heard]) -> None:
    """The kiosk says its attract prompt as it prepares the rest: preparing must go on after it (it stalled
    there until nothing was said any more, so each fixed prompt was first made when first needed)."""
    speech, heard = voice
    speech.say(spoken("attract.prompt", "zh_CN"), "zh_CN")
    speech.prepare([(spoken("goodbye.prompt", "zh_CN"), "zh_CN"), (spoken("pin.prompt", "zh_CN"), "zh_CN")])
    heard.next()
    deadline = time.monotonic() + 10
    while speech._prepare and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not speech._prepare, "the prompts to prepare are still waiting"


def test_chinese_prompts_through_each_engine_sound_like_the_mandarin_voice(engine: str) -> None:
    """pyttsx3's espeak driver must reach the Mandarin voice too: its audio is as long as espeak-ng's
    sit/cmn-latn-pinyin, and far from the English voice reading 'Chinese letter' for every character."""
    synth = make_engine(engine)
    assert synth.start(VOICES).problem is None
    reference = EspeakCommandLine()
    assert reference.start(VOICES).problem is None
    try:
        for key in ("attract.prompt", "pin.prompt", "goodbye.prompt"):
            words = speakable(spoken(key, "zh_CN"), "zh_CN")
            ours = inspect_wav(synth.render(words, VOICES["zh_CN"], 150, 0.9) or b"")
            mandarin = inspect_wav(reference.render(words, VOICES["zh_CN"], 150, 0.9) or b"")
            english = inspect_wav(reference.render(words, VOICES["en"], 150, 0.9) or b"")
            assert abs(ours.seconds - mandarin.seconds) < 0.05 * mandarin.seconds, (key, ours.seconds, mandarin.seconds)
            assert english.seconds > 1.5 * mandarin.seconds, "the check above must be able to fail"
    finally:
        synth.close()


def test_pyttsx3_keeps_no_prompt_on_disk() -> None:
    """A notice said aloud may hold personal words: pyttsx3's file lives in a private folder in memory,
    is gone as soon as it is read, and the folder goes when the voice closes."""
    synth = Pyttsx3Engine("espeak")
    assert synth.start(VOICES).problem is None
    folder = synth.folder
    assert folder is not None and folder.parent == Path("/dev/shm"), folder
    assert folder.stat().st_mode & 0o777 == 0o700
    wav = synth.render("王先生，您好！您有一条养老金调整通知。", VOICES["zh_CN"], 150, 0.9)
    assert wav and inspect_wav(wav).peak > 1000
    assert list(folder.iterdir()) == [], "the prompt's file is left behind"
    synth.close()
    assert not folder.exists()


def test_auto_picks_the_command_line_where_it_exists_else_pyttsx3(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(choose("auto"), EspeakCommandLine)
    assert isinstance(choose("pyttsx3"), Pyttsx3Engine)
    monkeypatch.setenv("PATH", "/nonexistent")  # a Windows or macOS terminal: no espeak-ng on the path
    assert isinstance(choose("auto"), Pyttsx3Engine)
    assert isinstance(choose("espeak-ng"), EspeakCommandLine)  # named: its start() then says it is missing
    assert choose("espeak-ng").start(VOICES).problem == "espeak-ng is not installed"


def test_a_voice_pyttsx3_does_not_have_is_named_not_hidden() -> None:
    synth = Pyttsx3Engine("espeak")
    try:
        started = synth.start({"zh_CN": "sit/no-such-voice"})
    finally:
        synth.close()
    assert started.problem == "voices missing: sit/no-such-voice" and started.missing == ("zh_CN",)


def test_doctor_names_the_engine_and_what_it_cannot_honour() -> None:
    from kiosk.config import from_text
    from kiosk.doctor import check_voice

    for engine, status, words in (("espeak-ng", "pass", "as asked"), ("pyttsx3", "warn", "old rate")):
        config = from_text(f'[backend]\nurl = "https://notices.example/api/v1"\n[voice]\nengine = "{engine}"\n')
        found = {f.check: f for f in check_voice(config)}
        assert found["voice"].status == "pass" and engine in found["voice"].message, found["voice"]
        assert found["voice engine"].status == status and words in found["voice engine"].message


# -- Cantonese: the Chinese prompts said with espeak-ng's sit/yue ([voice] languages = ["zh_CN", "yue"]) -------------
def cantonese_prompts() -> list[tuple[str, str]]:
    return [(key, spoken(key, "yue", **params_for(key, "yue"))) for key in sorted(SPOKEN)]


def phonemes(voice: str, words: str) -> str:
    return subprocess.run(["espeak-ng", "-v", voice, "-q", "-x", words], capture_output=True, text=True,
                          timeout=30).stdout  # fmt: skip


def test_every_prompt_sounds_in_cantonese_and_takes_a_sensible_time(voice: tuple[Speech, Heard]) -> None:
    speech, heard = voice
    assert VOICES["yue"] == "sit/yue" and speech.voices["yue"] == "sit/yue", "Cantonese fell back to Mandarin"
    for key, words in cantonese_prompts():
        assert spoken(key, "yue", **params_for(key, "yue")) == spoken(key, "zh_CN", **params_for(key, "zh_CN"))
        speech.say(words, "yue")
        audio = heard.next()
        assert audio.peak > 1000, f"{key} (yue) is silent"
        characters = len(re.findall(r"[\u4e00-\u9fff]", speakable(words, "yue")))
        assert characters / 8 <= audio.seconds <= characters / 1.5 + 1, f"{key} (yue): {audio.seconds:.1f} s"


def test_cantonese_prompts_carry_cantonese_tones_on_every_character_not_mandarin_ones() -> None:
    """espeak-ng -x: Cantonese marks each syllable with one of its six tones (nei5 hou2); Mandarin's are contours
    (i35, Au214). A 3 in Arabic digits comes out with tone 7, which Cantonese has not: speakable must catch it."""
    for key, words in cantonese_prompts():
        said = speakable(words, "yue")
        heard = phonemes("sit/yue", said)
        tones = re.findall(r"\d+", heard)
        characters = len(re.findall(r"[\u4e00-\u9fff]", said))
        assert tones and all(t in "123456" for t in tones), f"{key}: not Cantonese tones in {heard!r}"
        assert len(tones) >= characters, f"{key}: {characters} characters, {len(tones)} tones in {heard!r}"
        assert not re.search(r"\d{2,3}", heard), f"{key}: Mandarin contours in {heard!r}"
    welcome = spoken("attract.prompt", "yue")
    assert phonemes("sit/yue", welcome).startswith("n'ei5_| h'ou2_|")  # 您好: nei5 hou2, as Cantonese says it
    assert re.search(r"\d{2,3}", phonemes(VOICES["zh_CN"], welcome)), "the check above must be able to fail"
    assert "7" in phonemes("sit/yue", "还可以试3次") and "7" not in phonemes("sit/yue", speakable("还可以试3次", "yue"))


def test_numbers_dates_and_money_read_naturally_in_cantonese() -> None:
    assert speakable("截止2026年12月31日，补发1078元", "yue") == "截止二〇二六年十二月三十一日，补发一千零七十八元"
    assert speakable("有效期到2026-12-04", "yue") == "有效期到二〇二六年十二月四日"
    assert speakable("报销3260.50元", "yue") == "报销三千二百六十元五角"  # 元角分, not 三千二百六十点五零
    assert speakable("补发98.05元，退0.50元", "yue") == "补发九十八元零五分，退五角"
    assert speakable("还可以试2次，补发2000元", "yue") == "还可以试两次，补发两千元"  # 两 where Cantonese counts
    assert speakable("2月22日，12点，共20000元", "yue") == "二月二十二日，十二点，共两万元"  # but 二月, 二十二
    assert speakable("30秒后将退出", "yue") == "三十秒后将退出"
    assert speakable("第2次", "yue") == "第二次"
    assert not re.search(r"\d", speakable(spoken("idle.warning", "yue", seconds="30"), "yue"))
    heard = phonemes("sit/yue", speakable("还可以试2次，补发2000元", "yue"))
    assert heard.count("l'oeng5") == 2, heard  # 两 loeng5, twice


def test_cantonese_notices_and_the_guard() -> None:
    """A notice in Hanzi is said in the citizen's Chinese; the guard sees the raw text before any rewriting."""
    assert language_of("养老金调整通知", "yue") == "yue"
    assert language_of("养老金调整通知", "en") == "zh_CN"
    assert language_of("Pension news", "yue") == "yue"
    with pytest.raises(SpeechRefused):
        check_private("社会保障号110105194803151234")
    with pytest.raises(SpeechRefused):
        check_private("号码一一〇一〇五一九四八〇三一五一二三四")


def test_a_terminal_without_the_cantonese_voice_says_cantonese_prompts_in_mandarin(engine: str) -> None:
    """A missing sit/yue must not silence the kiosk: the Cantonese choice is said by the Mandarin voice."""
    heard = Heard()
    speech = Speech(player=(), on_audio=heard, synthesizer=make_engine(engine),
                    voices={**VOICES, "yue": "sit/no-such-cantonese"})  # fmt: skip
    speech.start()
    try:
        assert speech.ready.wait(10)
        assert speech.state.status == "no_audio_device", speech.state.detail  # ready, only no sound card here
        assert speech.voices["yue"] == VOICES["zh_CN"]
        speech.say(spoken("attract.prompt", "yue"), "yue")
        assert heard.next().peak > 1000
    finally:
        speech.close()
