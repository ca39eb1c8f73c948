"""The config validation table: every key of `kiosk.config.KEYS`, wrong in every way its kind can be wrong.

Each wrong value must give one sentence that names the file, the line and the key; a value of the right
kind must load. The cases come from the table itself, so a key added later is covered without a new test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.config import KEYS, ConfigError, from_text, render

URL_LINE = 'url = "https://notices.example/api/v1"'


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def wrong_values(key: tuple[str, str]) -> list[Any]:
    """Every way this key's value can be wrong: the other TOML kinds, and for its own kind what it refuses."""
    default, _ = KEYS[key]
    others: list[Any] = ["text", 7, 2.5, True, [1, 2], {"a": 1}]
    kind = type(default) if default is not None else str
    wrong = [v for v in others if type(v) is not kind and not (kind is float and type(v) is int)]
    wrong += {
        ("kiosk", "id"): ["", "大厅一号", "a b", "x" * 65, "../etc"],
        ("kiosk", "language"): ["fr", "zh", "ZH_CN", ""],
        ("backend", "url"): ["", "notices.example", "ftp://notices.example", "https://", "http://notices.example"],
        ("backend", "sync_interval_s"): [9, 86401, -1, 0],
        ("session", "idle_warning_s"): [9, 3601, -5],
        ("session", "idle_reset_s"): [29, 3601, 0],
        ("ui", "orientation"): ["sideways", "", "Portrait"],
        ("ui", "text_scale"): [1.1, 2.0, 0.0, 1.75],
        ("voice", "rate"): [79, 301, 0],
        ("voice", "volume"): [-0.1, 1.01, 100],
        ("voice", "engine"): ["espeak", "sapi5", "", "PYTTSX3"],
        ("voice", "languages"): [[], ["fr"], ["zh_CN", "cantonese"], ["zh_CN", "zh_CN"], ["en"], [1, 2], ["ZH_CN"]],
    }.get(key, [])
    return wrong


CASES = [(key, value) for key in KEYS for value in wrong_values(key)]


def document(key: tuple[str, str], value: Any) -> str:
    """A config whose line 4 sets the key to the value (the backend URL, which is required, on line 2)."""
    section, name = key
    if key == ("backend", "url"):
        return f"# kiosk config\n[backend]\n# the backend\n{name} = {toml(value)}\n"
    if section == "backend":
        return f"[backend]\n{URL_LINE}\n# the backend\n{name} = {toml(value)}\n"
    return f"[backend]\n{URL_LINE}\n[{section}]\n{name} = {toml(value)}\n"


@pytest.mark.parametrize(("key", "value"), CASES, ids=[f"{s}.{n}={v!r}"[:60] for (s, n), v in CASES])
def test_every_wrong_value_is_one_sentence_naming_file_line_and_key(key: tuple[str, str], value: Any) -> None:
    path = Path("/etc/ss-kiosk/config.toml")
    with pytest.raises(ConfigError) as refused:
        from_text(document(key, value), path)
    sentence = str(refused.value)
    assert sentence.startswith(f"{path}:4: {key[0]}.{key[1]} "), sentence
    assert "\n" not in sentence and "Traceback" not in sentence


WITH_DEFAULT = [key for key, (default, _) in KEYS.items() if default is not None]  # all but backend.url


@pytest.mark.parametrize("key", WITH_DEFAULT, ids=[f"{s}.{n}" for s, n in WITH_DEFAULT])
def test_every_key_takes_its_default_written_out(key: tuple[str, str]) -> None:
    default, _ = KEYS[key]
    assert from_text(document(key, default))[f"{key[0]}.{key[1]}"] == default


def test_every_key_has_wrong_values_to_try() -> None:
    assert all(wrong_values(key) for key in KEYS)


def test_unknown_keys_sections_and_a_missing_url_are_named() -> None:
    cases = {
        f"[backend]\n{URL_LINE}\n[voice]\nloudness = 3\n": "<config>:4: unknown key voice.loudness",
        f"[backend]\n{URL_LINE}\n[sound]\nvolume = 3\n": "<config>:4: unknown key sound.volume",
        f"voice = 3\n[backend]\n{URL_LINE}\n": "<config>:1: voice must be a [section]",
        "[voice]\nvolume = 0.5\n": "<config>: backend.url is missing and has no default",
        f"[backend]\n{URL_LINE}\n[session]\nidle_warning_s = 60\nidle_reset_s = 70\n": (
            "<config>:5: session.idle_reset_s leaves less than 20 s between the idle warning and the reset"
        ),
        "[backend\n": "<config>: not valid TOML",
        f'[backend]\n{URL_LINE}\n[printer]\nkind = "cups"\n': "<config>:4: printer.device must name the printer",
        f'[backend]\n{URL_LINE}\n[printer]\nkind = "escpos-network"\ndevice = "10.0.0.5:91OO"\n': (
            "<config>:5: printer.device '10.0.0.5:91OO' is not host or host:port (a port from 1 to 65535)"
        ),
    }
    for text, sentence in cases.items():
        with pytest.raises(ConfigError) as refused:
            from_text(text)
        assert str(refused.value).startswith(sentence), (text, str(refused.value))


def test_the_voices_languages_name_the_default_first_and_a_bad_one_plainly() -> None:
    """[voice] languages = ["zh_CN", "yue"]: Mandarin by default, Cantonese a tap away; a typo is one clear sentence."""
    base = f"[backend]\n{URL_LINE}\n[voice]\n"
    assert from_text(base)["voice.languages"] == ["zh_CN"], "Mandarin only unless the hall says otherwise"
    cantonese_first = from_text(base + 'languages = ["yue", "zh_CN"]\n')
    assert cantonese_first["voice.languages"] == ["yue", "zh_CN"]
    assert 'languages = ["yue", "zh_CN"]' in render(cantonese_first), "staff changes write it back as it was"
    assert from_text(render(cantonese_first))["voice.languages"] == ["yue", "zh_CN"]
    with pytest.raises(ConfigError) as refused:
        from_text(base + 'languages = ["zh_CN", "cantonese"]\n')
    assert str(refused.value) == "<config>:4: voice.languages has 'cantonese', not one of 'zh_CN', 'yue'"
    with pytest.raises(ConfigError) as refused:
        from_text(base + 'languages = "yue"\n')
    assert "must be a list of languages, the default first" in str(refused.value)
