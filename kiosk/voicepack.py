"""Recorded prompt packs: a hall's human recordings of the fixed prompts, checked and loaded (docs/voice-packs.md).

A pack is a folder with `pack.toml` and WAV files. Each entry names a prompt by its id in ui/texts.py, its
language, the words it records and its file. The kiosk plays a recording only for a prompt whose words are
today's words, so a pack can only ever say fixed prompts (no names, no numbers: nothing personal), and a
prompt reworded since the recording falls back to synthesis. Everything else is synthesized as before.

This module knows no prompt itself: the command hands it today's prompts (`Prompt`, in the citizen's order).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.loudness import SILENT, TARGET_LUFS, NotPcm, Pcm, integrated, normalize, read_wav, with_gain

MANIFEST = "pack.toml"
SCRIPT = "script.txt"
LANGUAGES = ("zh_CN", "yue", "en")  # yue: Cantonese, saying the Simplified Chinese prompts
RATES = (16000, 22050, 24000, 32000, 44100, 48000)  # under 16 kHz speech loses its consonants
LEAD_MAX_S, TAIL_MAX_S = 0.5, 1.0  # silence before the words delays them; after, it holds up the next prompt
MARGIN_S = 0.05  # what the kiosk keeps of a too-long silence when it trims one
SILENCE_DBFS = -45.0  # a 10 ms frame under this is silence
LOUDNESS_RANGE = (-35.0, -10.0)  # LUFS: outside it, levelling raises the room's noise or the file was crushed
FULL_SCALE = 32767 / 32768
CLIPPED_RUN = 3  # this many samples in a row at full scale: the recorder clipped


@dataclass(frozen=True)
class Prompt:
    """A fixed prompt as the kiosk says it today: no blanks to fill, so the same words every time."""

    id: str
    language: str
    text: str


@dataclass(frozen=True)
class Entry:
    id: str
    language: str
    text: str
    file: Path


@dataclass(frozen=True)
class Manifest:
    folder: Path
    name: str
    language: str
    sample_rate: int
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Problem:
    """One defect of a pack, in one line. `skipped`: the kiosk does not play that recording (it synthesizes)."""

    where: str
    what: str
    skipped: bool = True

    def line(self) -> str:
        return f"{self.where}: {self.what}" + (" (synthesized instead)" if self.skipped else "")


class PackError(ValueError):
    """A pack whose manifest cannot be used at all; the message says why in one sentence."""


def load_manifest(folder: str | Path) -> Manifest:
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{path}: no such file (is {folder} a voice pack?)") from None
    except OSError as e:
        raise PackError(f"{path}: cannot be read ({e.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PackError(f"{path}: not valid TOML ({e})") from None
    pack = doc.get("pack", {})
    language, rate = pack.get("language"), pack.get("sample_rate")
    if not isinstance(pack, dict) or language not in LANGUAGES:
        raise PackError(f"{path}: [pack] language must be one of {', '.join(LANGUAGES)}")
    if rate not in RATES or isinstance(rate, bool):
        raise PackError(f"{path}: [pack] sample_rate must be one of {', '.join(map(str, RATES))}")
    entries = []
    for number, item in enumerate(doc.get("prompt", []), 1):
        fields = {k: item.get(k) for k in ("id", "language", "text", "file")} if isinstance(item, dict) else {}
        missing = [k for k in ("id", "language", "text", "file") if not isinstance(fields.get(k), str)]
        if missing:
            raise PackError(f"{path}: [[prompt]] number {number} lacks {', '.join(missing)}")
        entries.append(Entry(fields["id"], fields["language"], fields["text"], folder / fields["file"]))
    return Manifest(folder, str(pack.get("name", folder.name)), language, rate, tuple(entries))


# -- one recording ------------------------------------------------------------------------------------
def _label(entry: Entry) -> str:
    return f"{entry.id} {entry.language} ({entry.file.name})"


def _clipped_places(samples: np.ndarray) -> int:
    """Runs of CLIPPED_RUN or more samples in a row at full scale (one such sample alone can be a real peak)."""
    edges = np.diff(np.concatenate(([0], (np.abs(samples) >= FULL_SCALE).astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(np.count_nonzero(ends - starts >= CLIPPED_RUN))


def _silent_frames(pcm: Pcm) -> np.ndarray:
    frame = max(1, pcm.rate // 100)
    count = len(pcm.samples) // frame
    frames = pcm.samples[: count * frame].reshape(count, frame)
    with np.errstate(divide="ignore"):
        level = 10 * np.log10(np.mean(frames * frames, axis=1))
    return level < SILENCE_DBFS


def examine(entry: Entry, manifest: Manifest) -> tuple[Pcm | None, list[Problem]]:
    """One recording: the kiosk's clip of it (levelled, silence trimmed) or None, and what is wrong with it."""
    where = _label(entry)
    if not entry.file.resolve().is_relative_to(manifest.folder.resolve()):
        return None, [Problem(where, "the file lies outside the pack's folder")]
    try:
        pcm, channels = read_wav(entry.file.read_bytes())
    except FileNotFoundError:
        return None, [Problem(where, "the file is missing")]
    except OSError as e:
        return None, [Problem(where, f"the file cannot be read ({e.strerror})")]
    except NotPcm as e:
        return None, [Problem(where, f"wrong format: {e}; record 16-bit PCM WAV")]
    problems = []
    if channels != 1:
        problems.append(Problem(where, f"{channels} channels: the kiosk plays the first; record mono", skipped=False))
    if pcm.rate != manifest.sample_rate:
        problems.append(Problem(where, f"wrong sample rate: {pcm.rate} Hz, the pack is {manifest.sample_rate} Hz"))
    runs = _clipped_places(pcm.samples)
    if runs:
        problems.append(Problem(where, f"clipped: {runs} place(s) at full scale; record again with less gain"))
    loudness = integrated(pcm)
    silent = _silent_frames(pcm)
    if loudness <= SILENT or silent.all():
        return None, [*problems, Problem(where, "silent: no speech in the file")]
    low, high = LOUDNESS_RANGE
    if not low <= loudness <= high:
        change = abs(loudness - TARGET_LUFS)
        problems.append(Problem(where, f"loudness {loudness:.1f} LUFS, outside {low:g} to {high:g}: levelling it "
                                       f"to the kiosk's target changes it {change:.0f} dB", skipped=False))  # fmt: skip
    lead = int(np.argmin(silent)) / 100
    tail = int(np.argmin(silent[::-1])) / 100
    if lead > LEAD_MAX_S:
        problems.append(Problem(where, f"{lead:.1f} s of silence before the words (at most {LEAD_MAX_S:g}); "
                                       "the kiosk trims it", skipped=False))  # fmt: skip
    if tail > TAIL_MAX_S:
        problems.append(Problem(where, f"{tail:.1f} s of silence after the words (at most {TAIL_MAX_S:g}); "
                                       "the kiosk trims it", skipped=False))  # fmt: skip
    if any(p.skipped for p in problems):
        return None, problems
    start = max(0, round((lead - MARGIN_S) * pcm.rate)) if lead > LEAD_MAX_S else 0
    end = len(pcm.samples) - (max(0, round((tail - MARGIN_S) * pcm.rate)) if tail > TAIL_MAX_S else 0)
    trimmed = Pcm(pcm.samples[start:end], pcm.rate)
    return with_gain(normalize(trimmed), 1.0), problems


# -- the whole pack -----------------------------------------------------------------------------------
@dataclass
class LoadedPack:
    """What the speech worker plays: levelled clips by (words, language), and what it left out and why."""

    name: str = ""
    languages: frozenset[str] = frozenset()
    clips: dict[tuple[str, str], Pcm] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    error: str = ""  # the manifest itself is unusable: every prompt is synthesized


def load(folder: str | Path) -> LoadedPack:
    """Every usable recording of the pack; never raises (a broken pack means synthesis, not a dead kiosk)."""
    try:
        manifest = load_manifest(folder)
    except PackError as e:
        return LoadedPack(error=str(e))
    loaded = LoadedPack(name=manifest.name, languages=_languages(manifest))
    for entry in manifest.entries:
        try:
            pcm, problems = examine(entry, manifest)
        except Exception as e:  # one odd file must not cost the hall its other recordings
            pcm, problems = None, [Problem(_label(entry), f"cannot be examined ({type(e).__name__}: {e})")]
        loaded.problems += problems
        if pcm is not None:
            loaded.clips[(entry.text.strip(), entry.language)] = pcm
    return loaded


def _languages(manifest: Manifest) -> frozenset[str]:
    return frozenset({manifest.language} | {e.language for e in manifest.entries})


def against_today(manifest: Manifest, prompts: Sequence[Prompt]) -> list[Problem]:
    """Entries that are not today's fixed prompts (unknown, reworded, twice) and prompts with no recording."""
    today = {(p.id, p.language): p.text for p in prompts}
    problems, seen = [], set()
    for entry in manifest.entries:
        key, where = (entry.id, entry.language), _label(entry)
        if entry.language not in LANGUAGES:
            problems.append(Problem(where, f"language {entry.language!r} is not one of {', '.join(LANGUAGES)}"))
        elif key not in today:
            problems.append(Problem(where, "not a fixed prompt of this kiosk (a prompt with blanks is always "
                                           "synthesized)"))  # fmt: skip
        elif entry.text.strip() != today[key].strip():
            problems.append(Problem(where, f"stale text: it records {entry.text!r}, today's prompt is {today[key]!r}"))
        if key in seen:
            problems.append(Problem(where, "recorded twice in the manifest: the later one is played", skipped=False))
        seen.add(key)
    languages = _languages(manifest)
    for prompt in prompts:
        if prompt.language in languages and (prompt.id, prompt.language) not in seen:
            problems.append(Problem(f"{prompt.id} {prompt.language}", f"missing prompt: no recording of "
                                                                      f"{prompt.text!r}"))  # fmt: skip
    return problems


def check(folder: str | Path, prompts: Sequence[Prompt]) -> list[Problem]:
    """`ss-kiosk voice-pack check`: one Problem per defect; raises PackError when the manifest is unusable."""
    manifest = load_manifest(folder)
    problems = against_today(manifest, prompts)
    for entry in manifest.entries:
        problems += examine(entry, manifest)[1]
    return problems


@dataclass(frozen=True)
class Coverage:
    name: str
    recorded: int  # today's fixed prompts the kiosk plays from the pack
    total: int  # today's fixed prompts in the pack's languages
    skipped: int  # recordings in the pack it does not play
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"not used, every prompt synthesized: {self.error}"
        line = f"{self.name}: {self.recorded} of {self.total} fixed prompts recorded"
        return line + (f", {self.skipped} recording(s) not used (ss-kiosk voice-pack check)" if self.skipped else "")


def coverage(recorded: Iterable[tuple[str, str]], prompts: Sequence[Prompt], pack: LoadedPack) -> Coverage:
    """How much of today's fixed prompts the kiosk says with the pack's voice, from the clips it loaded."""
    if pack.error:
        return Coverage("", 0, 0, 0, pack.error)
    have = {(text.strip(), language) for text, language in recorded}
    wanted = [p for p in prompts if p.language in pack.languages]
    played = sum((p.text.strip(), p.language) in have for p in wanted)
    skipped = len({p.where for p in pack.problems if p.skipped})
    return Coverage(pack.name, played, len(wanted), skipped)


def export(folder: str | Path, prompts: Sequence[Prompt], language: str, sample_rate: int = 22050) -> list[Path]:
    """The voice actor's script and a manifest ready for the recordings, in the order a citizen hears them."""
    folder = Path(folder)
    mine = [p for p in prompts if p.language == language]
    manifest = folder / MANIFEST
    if manifest.exists():
        raise PackError(f"{manifest} exists already: export into an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Voice pack script: {len(mine)} fixed prompts ({language}), in the order a citizen hears them.",
        f"Record each as mono 16-bit PCM WAV at {sample_rate} Hz, named as below; 0.1-0.3 s of quiet before "
        "and after the words, no music, no clipping. Say the words exactly as written.",
        "",
    ]
    for number, prompt in enumerate(mine, 1):
        lines += [f"{number:3}. {_file(prompt)}", f"     {prompt.text}", ""]
    (folder / SCRIPT).write_text("\n".join(lines), encoding="utf-8")
    toml = [f'[pack]\nname = "{folder.name}"\nlanguage = "{language}"\nsample_rate = {sample_rate}\n']
    for prompt in mine:
        toml.append(f'[[prompt]]\nid = "{prompt.id}"\nlanguage = "{prompt.language}"\n'
                    f'text = {_toml_string(prompt.text)}\nfile = "{_file(prompt)}"\n')  # fmt: skip
    manifest.write_text("\n".join(toml), encoding="utf-8")
    return [folder / SCRIPT, manifest]


def _file(prompt: Prompt) -> str:
    return f"{prompt.id}.{prompt.language}.wav"  # one folder can hold both of a hall's languages


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
