"""Recorded prompt packs and even loudness, as a hall would notice them: the pack's voice is heard for every fixed
prompt of a real session through pcscd, synthesis for the rest, every clip equally loud, and `voice-pack check`
names each defect of a broken pack on a line of its own.

The pack is "recorded" by espeak-ng at a higher pitch (-p 90, about 135 Hz against 90-100 Hz), quieter than the
kiosk's own voice, so the two voices are told apart by their pitch in the audio handed to the player.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hardware.speech import VOICES, Audio, Speech, _true_header, speakable
from kiosk import loudness
from kiosk.config import from_text
from kiosk.hall.server import HallServer
from kiosk.session import Screen
from kiosk.voicepack import MANIFEST, SCRIPT, check, coverage, export, load
from tests.conftest import kiosk_toml, running_kiosk
from ui.app import KioskApp
from ui.texts import fixed_prompts

ROOT = Path(__file__).resolve().parent.parent
SINK = [sys.executable, str(ROOT / "tests" / "paced_sink.py")]
PACK_PITCH = ["-p", "90", "-a", "40"]  # the "voice actor": higher, and much quieter than the kiosk's voice
PACK_F0_HZ = 118  # median pitch above this: the pack's voice; below: espeak-ng's own


def median_pitch(audio: Audio) -> float:
    """The median fundamental of the voiced 40 ms frames (autocorrelation), in Hz."""
    pcm, _ = loudness.read_wav(audio.wav)
    x, rate = pcm.samples, pcm.rate
    frame = int(0.04 * rate)
    level = np.sqrt(np.mean(x * x)) * 0.5
    found = []
    for start in range(0, len(x) - frame, frame // 2):
        seg = x[start : start + frame] - x[start : start + frame].mean()
        if np.sqrt(np.mean(seg * seg)) < level:
            continue
        ac = np.correlate(seg, seg, "full")[frame - 1 :]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(ac[low:high]))
        if ac[lag] > 0.5 * ac[0]:
            found.append(rate / lag)
    return float(np.median(found))


def record(text: str, language: str, path: Path, rate: int = 22050) -> None:
    raw = subprocess.run(["espeak-ng", "-v", VOICES[language], *PACK_PITCH, "--stdout"],
                         input=speakable(text, language).encode(), capture_output=True, check=True).stdout  # fmt: skip
    pcm, _ = loudness.read_wav(_true_header(raw).wav)
    path.write_bytes(loudness.to_wav(loudness.Pcm(pcm.samples, rate)) if rate == pcm.rate else _resampled(pcm, rate))


def _resampled(pcm: loudness.Pcm, rate: int) -> bytes:
    positions = np.arange(0, len(pcm.samples) * rate // pcm.rate) * pcm.rate / rate
    return loudness.to_wav(loudness.Pcm(np.interp(positions, np.arange(len(pcm.samples)), pcm.samples), rate))


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete pack for both languages, made the way a hall would: export the script, record every line."""
    folder = tmp_path_factory.mktemp("pack") / "hall-0101"
    prompts = fixed_prompts()
    export(folder, prompts, "zh_CN")
    english = tmp_path_factory.mktemp("en")
    export(english, prompts, "en")
    with (folder / MANIFEST).open("a", encoding="utf-8") as manifest:  # one pack for both of the hall's languages
        manifest.write("\n" + (english / MANIFEST).read_text(encoding="utf-8").split("\n\n", 1)[1])
    for entry in tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))["prompt"]:
        record(entry["text"], entry["language"], folder / entry["file"])
    return folder


def test_export_writes_the_script_in_the_citizens_order_and_a_manifest_to_fill(tmp_path: Path) -> None:
    prompts = fixed_prompts()
    written = export(tmp_path / "pack", prompts, "zh_CN")
    script = (tmp_path / "pack" / SCRIPT).read_text(encoding="utf-8")
    zh = [p for p in prompts if p.language == "zh_CN"]
    positions = [script.index(f"{p.id}.zh_CN.wav\n     {p.text}\n") for p in zh]
    assert positions == sorted(positions) and zh[0].id == "attract.prompt", "in the order a visit goes"
    assert zh[-1].id != "attract.prompt" and "{" not in script, "fixed prompts only: nothing with blanks"
    manifest = tomllib.loads((tmp_path / "pack" / MANIFEST).read_text(encoding="utf-8"))
    assert [(e["id"], e["text"]) for e in manifest["prompt"]] == [(p.id, p.text) for p in zh]
    assert written == [tmp_path / "pack" / SCRIPT, tmp_path / "pack" / MANIFEST]


def test_a_complete_pack_checks_clean_and_covers_every_fixed_prompt(pack: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "kiosk", "voice-pack", "check", str(pack)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = load(pack)
    assert coverage(loaded.clips, fixed_prompts(), loaded).line() == "hall-0101: 82 of 82 fixed prompts recorded"


def plant(folder: Path, file: str, samples: np.ndarray | None = None, rate: int = 22050, raw: bytes = b"") -> None:
    (folder / file).write_bytes(raw or loudness.to_wav(loudness.Pcm(samples, rate)))  # type: ignore[arg-type]


def test_check_names_each_planted_defect_on_a_line_of_its_own(pack: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(pack, broken)
    speech, _ = loudness.read_wav((pack / "reading.prompt.zh_CN.wav").read_bytes())
    too_hot = np.clip(speech.samples / np.max(np.abs(speech.samples)) * 1.4, -1, 1)  # the gain 3 dB too high
    plant(broken, "pin.prompt.zh_CN.wav", too_hot)
    plant(broken, "goodbye.prompt.zh_CN.wav", np.zeros(22050))  # the microphone was off
    record("正在核对密码，请稍候。", "zh_CN", broken / "pin.checking.zh_CN.wav", rate=8000)  # a telephone recording
    plant(broken, "help.requested.zh_CN.wav", np.concatenate([np.zeros(22050 * 2), speech.samples]))  # 2 s of nothing
    plant(broken, "no_reader.prompt.zh_CN.wav", raw=b"ID3\x03 an mp3 renamed")
    manifest = (broken / MANIFEST).read_text(encoding="utf-8")
    manifest = manifest.replace('text = "请取回您的社保卡。"', 'text = "请拿走您的社保卡。"')  # reworded since
    start = manifest.index('[[prompt]]\nid = "help.coming"\nlanguage = "zh_CN"')
    manifest = manifest[:start] + manifest[manifest.index("[[prompt]]", start + 1) :]  # a line never recorded
    (broken / MANIFEST).write_text(manifest, encoding="utf-8")

    done = subprocess.run([sys.executable, "-m", "kiosk", "voice-pack", "check", str(broken)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)  # fmt: skip
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stderr
    expected = {
        "pin.prompt zh_CN (pin.prompt.zh_CN.wav): clipped": "(synthesized instead)",
        "goodbye.prompt zh_CN (goodbye.prompt.zh_CN.wav): silent": "(synthesized instead)",
        "pin.checking zh_CN (pin.checking.zh_CN.wav): wrong sample rate: 8000 Hz": "(synthesized instead)",
        "help.requested zh_CN (help.requested.zh_CN.wav): 2.0 s of silence before the words": "the kiosk trims it",
        "no_reader.prompt zh_CN (no_reader.prompt.zh_CN.wav): wrong format": "(synthesized instead)",
        "goodbye.take_card zh_CN (goodbye.take_card.zh_CN.wav): stale text": "(synthesized instead)",
        "help.coming zh_CN: missing prompt": "(synthesized instead)",
    }
    for start, end in expected.items():
        assert [line for line in lines if line.startswith(start) and line.endswith(end)], f"no {start}: {lines}"
    assert len(lines) == len(expected), "\n".join(lines)
    assert check(broken, fixed_prompts()) and check(pack, fixed_prompts()) == []


def voice(pack: Path | None = None, volume: float = 1.0) -> tuple[Speech, list[Audio], threading.Event]:
    heard: list[Audio] = []
    came = threading.Event()
    speech = Speech(volume=volume, player=(), on_audio=lambda a: (heard.append(a), came.set()), pack=pack)
    speech.start()
    assert speech.ready.wait(30)
    return speech, heard, came


def say_all(speech: Speech, heard: list[Audio], came: threading.Event, texts: list[tuple[str, str]]) -> list[Audio]:
    for text, language in texts:
        came.clear()
        assert speech.say(text, language, cache=True)
        assert came.wait(10), text
    return heard[-len(texts) :]


def test_every_prompt_is_equally_loud_recorded_or_synthesized_while_raw_espeak_ng_is_not(pack: Path) -> None:
    texts = [(p.text, p.language) for p in fixed_prompts(("zh_CN", "en"))]  # the pack's two languages
    pack_voice, heard, came = voice(pack)
    recorded = say_all(pack_voice, heard, came, texts)
    pack_voice.close()
    kiosk_voice, heard, came = voice()
    synthesized = say_all(kiosk_voice, heard, came, texts)
    kiosk_voice.close()
    assert all(a.recorded for a in recorded) and not any(a.recorded for a in synthesized)
    for (text, language), ours, theirs in zip(texts, recorded, synthesized, strict=True):
        for audio in (ours, theirs):
            measured = loudness.integrated(loudness.read_wav(audio.wav)[0])
            assert abs(measured - loudness.TARGET_LUFS) <= 1.0, f"{text} ({language}): {measured:.1f} LUFS"
        assert median_pitch(ours) > PACK_F0_HZ > median_pitch(theirs), f"{text}: the pack's voice is not heard"
    raw = [loudness.integrated(loudness.read_wav(_true_header(subprocess.run(
        ["espeak-ng", "-v", VOICES[lang], "--stdout"], input=speakable(t, lang).encode(), capture_output=True,
    ).stdout).wav)[0]) for t, lang in texts]  # fmt: skip
    assert max(raw) - min(raw) > 2.0, "the raw voice varies: the check above could fail"


def test_staff_volume_and_the_citizens_louder_are_a_gain_on_top(pack: Path) -> None:
    speech, heard, came = voice(pack, volume=0.5)
    text = fixed_prompts()[0].text
    try:
        half, louder = say_all(speech, heard, came, [(text, "zh_CN")])[0], None
        speech.citizen_db = 3.0
        louder = say_all(speech, heard, came, [(text, "zh_CN")])[0]
    finally:
        speech.close()
    measure = [loudness.integrated(loudness.read_wav(a.wav)[0]) for a in (half, louder)]
    assert abs(measure[0] - (loudness.TARGET_LUFS + 20 * math.log10(0.5))) < 0.2, measure
    assert abs(measure[1] - measure[0] - 3.0) < 0.2, measure


def test_a_broken_or_missing_pack_means_synthesis_never_a_dead_voice(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("[pack\nname=", encoding="utf-8")
    for folder in (tmp_path, tmp_path / "nowhere"):
        speech, heard, came = voice(folder)
        try:
            audio = say_all(speech, heard, came, [("请取回您的社保卡。", "zh_CN")])[0]
        finally:
            speech.close()
        assert not audio.recorded and audio.peak > 1000 and speech.pack.error


def test_a_reworded_prompt_is_synthesized_not_played_from_the_old_recording(pack: Path, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    shutil.copytree(pack, folder)
    manifest = (folder / MANIFEST).read_text(encoding="utf-8")
    (folder / MANIFEST).write_text(manifest.replace('"请取回您的社保卡。"', '"请拿走您的社保卡。"'), encoding="utf-8")
    speech, heard, came = voice(folder)
    try:
        today, kept = say_all(
            speech, heard, came, [("请取回您的社保卡。", "zh_CN"), (fixed_prompts()[0].text, "zh_CN")]
        )
    finally:
        speech.close()
    assert not today.recorded and kept.recorded


# -- a real session through pcscd --------------------------------------------------------------------
@pytest.fixture
def kiosk_with_pack(
    tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication, pack: Path
) -> Iterator[KioskApp]:
    text = kiosk_toml(backend, tmp_path / "data", extra=f'[voice]\npack = "{pack}"\nvolume = 1.0\n')
    config = from_text(text, tmp_path / "kiosk.toml")
    with running_kiosk(config, player=SINK, hear_clips=True) as app:
        yield app


def test_a_session_through_pcscd_hears_the_pack_for_every_fixed_prompt_and_synthesis_for_the_notice(
    qtbot: QtBot, kiosk_with_pack: KioskApp, card_slot: Callable[..., object]
) -> None:
    from tests.test_ui_flow import tap_first_notice, tap_text

    kiosk = kiosk_with_pack
    qtbot.waitUntil(lambda: kiosk.speech is not None and kiosk.speech.ready.is_set(), timeout=30000)
    speech = kiosk.speech
    played: list[Audio] = []  # each clip handed to the player, with the words it says
    posted = speech.on_audio  # type: ignore[attr-defined]
    speech.on_audio = lambda audio: (played.append(audio), posted(audio))  # type: ignore[attr-defined]

    def said(text: str) -> Callable[[], bool]:
        return lambda: any(audio.words == text for audio in played)

    card_slot("wang-ming")
    qtbot.waitUntil(said("请输入六位社保卡密码。"), timeout=8000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: kiosk.window.view.screen == Screen.NOTICES and not kiosk.window.view.personal_loading,
                    timeout=8000)  # fmt: skip
    notice = kiosk.window.view.notices[0]
    qtbot.waitUntil(said("王先生，您好！"), timeout=8000)  # heard before the citizen taps on
    tap_first_notice(qtbot, kiosk)
    qtbot.waitUntil(said(notice.speak or notice.title), timeout=8000)
    tap_text(qtbot, kiosk, "已读")
    qtbot.waitUntil(said("好的，已经标为已读。"), timeout=8000)
    tap_text(qtbot, kiosk, "办完了，退卡")
    qtbot.waitUntil(said("请取回您的社保卡。您对这次服务满意吗？"), timeout=8000)
    qtbot.waitUntil(lambda: bool(played) and played[-1].recorded, timeout=8000)

    fixed = {p.text for p in fixed_prompts() if p.language == "zh_CN"}
    asked = [audio.words for audio in played]
    assert {"请输入六位社保卡密码。", "好的，已经标为已读。"} <= set(asked)
    for audio in played:
        if audio.words in fixed:
            assert audio.recorded and median_pitch(audio) > PACK_F0_HZ, f"{audio.words}: not the pack's voice"
        else:  # the greeting with the surname, the notice: synthesized, the privacy guard in front of them
            assert not audio.recorded and median_pitch(audio) < PACK_F0_HZ, f"{audio.words}: not synthesized"
    assert "王先生，您好！" in asked and (notice.speak or notice.title) in asked
    line = kiosk.pack_line()
    assert "hall-0101: 82 of 82 fixed prompts recorded" in line, line


def test_doctor_names_the_packs_coverage_and_a_broken_pack_plainly(
    tmp_path: Path, backend: HallServer, pack: Path
) -> None:
    from tests.test_doctor import doctor, kiosk_config

    _, found = doctor(kiosk_config(tmp_path, backend, f'[voice]\npack = "{pack}"\n'), "--no-card")
    assert found["voice pack"] == {"check": "voice pack", "status": "pass",
                                   "message": "hall-0101: 82 of 82 fixed prompts recorded"}  # fmt: skip
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MANIFEST).write_text('[pack]\nlanguage = "fr"\nsample_rate = 22050\n', encoding="utf-8")
    for folder, words in ((tmp_path / "bad", "language must be one of"), (tmp_path / "gone", "no such file")):
        _, found = doctor(kiosk_config(tmp_path, backend, f'[voice]\npack = "{folder}"\n'), "--no-card")
        message = found["voice pack"]["message"]
        assert found["voice pack"]["status"] == "warn" and "every prompt synthesized" in message and words in message


def test_slower_plays_the_recording_slower_at_the_same_pitch(pack: Path) -> None:
    speech, heard, came = voice(pack)
    text = fixed_prompts()[0].text
    try:
        normal = say_all(speech, heard, came, [(text, "zh_CN")])[0]
        came.clear()
        speech.say(text, "zh_CN", slower=True, cache=True)
        assert came.wait(10)
        slow = heard[-1]
    finally:
        speech.close()
    assert slow.recorded and slow.seconds > normal.seconds * 1.2
    assert abs(median_pitch(slow) - median_pitch(normal)) < 10, "sox's tempo keeps the voice's pitch"


def test_a_cantonese_pack_is_played_when_the_citizen_chose_cantonese(tmp_path: Path) -> None:
    """export --language yue: the same Simplified words to record in Cantonese; played for "yue", never for Mandarin."""
    folder = tmp_path / "hall-yue"
    export(folder, fixed_prompts(), "yue")
    manifest = tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["pack"]["language"] == "yue"
    assert [e["text"] for e in manifest["prompt"]] == [p.text for p in fixed_prompts(("zh_CN",))], "same words"
    for entry in manifest["prompt"]:
        record(entry["text"], entry["language"], folder / entry["file"])
    assert check(folder, fixed_prompts()) == []
    speech, heard, came = voice(folder)
    try:
        welcome = fixed_prompts(("yue",))[0].text
        cantonese, mandarin = say_all(speech, heard, came, [(welcome, "yue"), (welcome, "zh_CN")])
    finally:
        speech.close()
    assert cantonese.recorded and not mandarin.recorded and cantonese.peak > 1000
