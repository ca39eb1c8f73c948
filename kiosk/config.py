"""The kiosk's configuration: one TOML file, every key checked at start, one sentence per bad key.

Every key has a default except the backend URL. `docs/config.md` documents each key; the
table below is the one place that knows them.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def default_data_dir() -> Path:
    """Where the kiosk keeps its data when the config names no folder (/var/lib/ss-kiosk under the unit)."""
    import platformdirs  # here, not at the top: off the way to the first screen (cold start)

    return Path(platformdirs.user_data_dir("ss-kiosk"))


class ConfigError(ValueError):
    """A config the kiosk cannot run with; the message names the key, the file and the line."""


Check = Callable[[Any], str | None]  # None when the value is fine, else what is wrong


def _kind(kind: type) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        return None if ok else f"must be {'a number' if kind in (int, float) else kind.__name__}"

    return check


def _one_of(*choices: Any) -> Check:
    def check(v: Any) -> str | None:
        ok = not isinstance(v, bool) and v in choices  # True == 1.0 in Python: not a text scale
        return None if ok else "must be one of " + ", ".join(repr(c) for c in choices)

    return check


def _between(low: float, high: float) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return "must be a number"
        return None if low <= v <= high else f"must be between {low:g} and {high:g}"

    return check


SPEECH_LANGUAGES = ("zh_CN", "yue")  # the voices that say the Chinese prompts: Mandarin, Cantonese


def _speech_languages(v: Any) -> str | None:
    """[voice] languages: the hall's Chinese voices, the default first; two or more give the citizen 普通话/粤语."""
    known = ", ".join(repr(c) for c in SPEECH_LANGUAGES)
    if not isinstance(v, list) or not v or not all(isinstance(c, str) for c in v):
        return f'must be a list of languages, the default first, from {known}, e.g. ["zh_CN", "yue"]'
    unknown = [c for c in v if c not in SPEECH_LANGUAGES]
    if unknown:
        english = " (English follows the screen's language)" if "en" in unknown else ""
        return f"has {', '.join(repr(c) for c in unknown)}, not one of {known}{english}"
    if len(set(v)) != len(v):
        return "names a language twice"
    return None


def _url(v: Any) -> str | None:
    if not isinstance(v, str) or not v:
        return "must be the backend's https URL"
    parts = urlsplit(v)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be the backend's https URL"
    return None


def _kiosk_id(v: Any) -> str | None:
    ok = isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", v)
    return None if ok else "must be 1–64 letters, digits, . _ -"


VOICE_ENGINES = ("auto", "espeak-ng", "pyttsx3")  # auto: espeak-ng's command line where it exists, else pyttsx3
PRINTER_KINDS = ("none", "escpos-network", "escpos-device", "cups")  # none; ESC/POS on 9100; on a device; CUPS

# (section, key): (default, check). A default of None means the key is required.
KEYS: dict[tuple[str, str], tuple[Any, Check]] = {
    ("kiosk", "id"): ("kiosk-01", _kiosk_id),
    ("kiosk", "location"): ("", _kind(str)),
    ("kiosk", "data_dir"): ("", _kind(str)),
    ("kiosk", "language"): ("zh_CN", _one_of("zh_CN", "en")),
    ("backend", "url"): (None, _url),
    ("backend", "ca_file"): ("", _kind(str)),
    ("backend", "token_file"): ("", _kind(str)),
    ("backend", "client_cert"): ("", _kind(str)),
    ("backend", "client_key"): ("", _kind(str)),
    ("backend", "sync_interval_s"): (300, _between(10, 86400)),
    ("reader", "name_filter"): ("", _kind(str)),
    ("reader", "psam_filter"): ("", _kind(str)),  # the PSAM's reader (third-generation cards); empty: none
    ("session", "require_pin"): (True, _kind(bool)),
    ("session", "idle_warning_s"): (60, _between(10, 3600)),
    ("session", "idle_reset_s"): (90, _between(30, 3600)),
    ("ui", "orientation"): ("auto", _one_of("auto", "landscape", "portrait")),
    ("ui", "text_scale"): (1.0, _one_of(1.0, 1.25, 1.5)),
    ("ui", "high_contrast"): (False, _kind(bool)),
    ("ui", "kiosk_mode"): (True, _kind(bool)),
    ("voice", "enabled"): (True, _kind(bool)),
    ("voice", "rate"): (150, _between(80, 300)),
    ("voice", "volume"): (0.9, _between(0.0, 1.0)),
    ("voice", "greet_by_name"): (True, _kind(bool)),
    ("voice", "languages"): (["zh_CN"], _speech_languages),  # the first is the default; English follows the screen
    ("voice", "pack"): ("", _kind(str)),  # a folder of recorded prompts (docs/voice-packs.md); empty: synthesis only
    ("voice", "engine"): ("auto", _one_of(*VOICE_ENGINES)),  # the speech back-end (docs/speech.md)
    ("hall", "name"): ("", _kind(str)),  # printed at the top of a slip
    ("hall", "address"): ("", _kind(str)),  # "where to go" on a slip
    ("hall", "counter"): ("", _kind(str)),  # the counter for notices, e.g. "3号综合窗口"
    ("hall", "print_greeting"): (False, _kind(bool)),  # the greeting's 王先生 on a slip (never a full name)
    ("printer", "kind"): ("none", _one_of(*PRINTER_KINDS)),
    ("printer", "device"): ("", _kind(str)),  # host[:port] for escpos-network; /dev/usb/lp0 or /dev/ttyS0 for a device
    ("printer", "paper_mm"): (80, _one_of(80, 58)),
    ("staff", "admin_pin_hash"): ("", _kind(str)),
    ("staff", "clerk_pin_hash"): ("", _kind(str)),
    ("demo", "allow_loopback_http"): (False, _kind(bool)),
}


@dataclass(frozen=True)
class Config:
    values: dict[tuple[str, str], Any]
    path: Path | None = None

    def __getitem__(self, key: str) -> Any:
        section, _, name = key.partition(".")
        return self.values[(section, name)]

    @property
    def data_dir(self) -> Path:
        configured = self["kiosk.data_dir"]
        return Path(configured) if configured else default_data_dir()

    def file(self, key: str) -> Path | None:
        """A file named by the config, relative to the config file's folder; None when unset."""
        value = self[key]
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() or self.path is None else self.path.parent / path

    def token(self) -> str:
        path = self.file("backend.token_file")
        if path is None:
            return ""
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"backend.token_file: cannot read {path} ({e.strerror})") from None


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    return from_text(text, path)


def printer_address(device: str) -> tuple[str, int]:
    """A network printer's host and port from `host` or `host:port` (its raw port is 9100); ValueError if no port."""
    host, _, port = device.rpartition(":") if ":" in device else (device, "", "9100")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{device!r} is not host or host:port (a port from 1 to 65535)")
    return host, int(port)


def printer_problem(kind: str, device: str) -> str | None:
    """What is wrong with [printer] device for `kind` (the config file and the wizard say the same)."""
    if kind == "none":
        return None
    if not device.strip():
        return "must name the printer (192.168.1.50 or host:port, /dev/usb/lp0, or a CUPS queue)"
    if kind == "escpos-network":
        try:
            printer_address(device)
        except ValueError as e:
            return str(e)
    return None


def from_text(text: str, path: Path | None = None) -> Config:
    where = str(path or "<config>")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML ({e})") from None
    values: dict[tuple[str, str], Any] = {}
    for section, table in doc.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}:{_line(text, None, section)}: {section} must be a [section]")
        for name, value in table.items():
            if (section, name) not in KEYS:
                raise ConfigError(f"{where}:{_line(text, section, name)}: unknown key {section}.{name}")
            problem = KEYS[(section, name)][1](value)
            if problem:
                raise ConfigError(f"{where}:{_line(text, section, name)}: {section}.{name} {problem}")
            values[(section, name)] = float(value) if isinstance(KEYS[(section, name)][0], float) else value
    for key, (default, _) in KEYS.items():
        if key not in values:
            if default is None:
                raise ConfigError(f"{where}: {key[0]}.{key[1]} is missing and has no default")
            values[key] = list(default) if isinstance(default, list) else default
    if values[("session", "idle_reset_s")] < values[("session", "idle_warning_s")] + 20:
        # Blame the key the file sets (the warning must come at least 20 s before the reset).
        key = "idle_reset_s" if _line(text, "session", "idle_reset_s") else "idle_warning_s"
        line = _line(text, "session", key)
        raise ConfigError(f"{where}:{line}: session.{key} leaves less than 20 s between the idle warning and the reset")
    problem = printer_problem(values[("printer", "kind")], values[("printer", "device")])
    if problem:
        line = _line(text, "printer", "device") or _line(text, "printer", "kind")
        raise ConfigError(f"{where}:{line}: printer.device {problem}")
    url = urlsplit(values[("backend", "url")])
    if url.scheme == "http" and not values[("demo", "allow_loopback_http")]:
        raise ConfigError(f"{where}:{_line(text, 'backend', 'url')}: backend.url must use https")
    return Config(values, path)


def _line(text: str, section: str | None, key: str) -> int:
    """The line a key stands on, for the message; 0 when it cannot be told."""
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip() if not line.lstrip().startswith(("'", '"')) else line.strip()
        if header := re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped):
            current = header.group(1).strip("\"' ")
            if section is None and current == key:
                return number
        elif current == section and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", stripped):
            return number
    return 0


def write(config: Config, path: Path) -> None:
    """Write atomically (temp file + rename), so a power cut leaves the old file or the new one.

    Raises ConfigError, before touching the file, when the kiosk could not load what would be written."""
    text = render(config)
    from_text(text, path)  # a file the kiosk would refuse never replaces one it runs with
    write_atomically(path, text)


def render(config: Config) -> str:
    """The config as the TOML text `write` puts in the file."""
    lines: list[str] = []
    for section in dict.fromkeys(s for s, _ in KEYS):
        lines.append(f"[{section}]")
        for (s, name), value in config.values.items():
            if s == section:
                lines.append(f"{name} = {_toml(value)}")
        lines.append("")
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """A private (0600) file replaced in one rename; on any failure the old file stays and no temp file is left."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value.replace("\\", "\\\\").replace('"', '\\"')
        # TOML takes no raw control character in a string (a file name on a stick may hold one).
        return '"' + re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04X}", text) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
