"""The first-run wizard's answers, checked page by page and written as the kiosk's config.

Qt-free: `ui/wizard.py` shows the pages, a test fills a `SetupForm` directly. The config's own key
checks (`kiosk.config.KEYS`) judge every value, so the wizard and the config file agree on what is
valid; what only the wizard asks (PINs twice, files that must exist) is checked here.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.config import (
    KEYS,
    PRINTER_KINDS,
    Config,
    ConfigError,
    from_text,
    load,
    printer_problem,
    render,
    write,
    write_atomically,
)
from kiosk.staff import ADMIN, CLERK, AuditLog, Entry, StaffGate, hash_pin, pin_matches

PAGES = ("kiosk", "backend", "staff", "check")
TOKEN_FILE = "token"  # beside the config file, 0600
SETUP_CODE_FILE = "setup-code"  # beside the config file: written by the ss-kiosk package, printed by install
INSTALLER = "installer"  # the audit log's name for whoever typed the setup code
CERT_SUFFIXES = (".pem", ".crt", ".cer")
KEY_SUFFIXES = (".key", ".pem")
# Where a field engineer's files are: the config folder and USB sticks mounted by udisks or by hand.
MEDIA_DIRS = ("/media", "/run/media", "/mnt")


@dataclass
class SetupForm:
    """What the wizard asks. PINs are typed twice; an empty PIN keeps the one already configured."""

    kiosk_id: str = KEYS[("kiosk", "id")][0]  # the config's defaults, from its one table
    location: str = ""
    backend_url: str = "https://"
    ca_file: str = ""
    token: str = ""
    client_cert: str = ""
    client_key: str = ""
    admin_pin: str = ""
    admin_pin_again: str = ""
    clerk_pin: str = ""
    clerk_pin_again: str = ""
    language: str = KEYS[("kiosk", "language")][0]
    orientation: str = KEYS[("ui", "orientation")][0]
    require_pin: bool = KEYS[("session", "require_pin")][0]
    hall_name: str = ""  # the hall's name, address and counter: printed on every slip
    hall_address: str = ""
    hall_counter: str = ""
    printer_kind: str = KEYS[("printer", "kind")][0]
    printer_device: str = ""
    paper_mm: int = KEYS[("printer", "paper_mm")][0]
    setup_code: str = ""  # not a config key: the one-time code that lets a new kiosk be set up

    @classmethod
    def from_config(cls, config: Config) -> SetupForm:
        """Pre-filled from the running kiosk, for staff who change the set-up."""
        try:
            token = config.token()
        except ConfigError:
            token = ""
        return cls(
            kiosk_id=config["kiosk.id"], location=config["kiosk.location"], backend_url=config["backend.url"],
            ca_file=config["backend.ca_file"],
            token=token, client_cert=config["backend.client_cert"], client_key=config["backend.client_key"],
            language=config["kiosk.language"], orientation=config["ui.orientation"],
            require_pin=config["session.require_pin"], hall_name=config["hall.name"],
            hall_address=config["hall.address"], hall_counter=config["hall.counter"],
            printer_kind=config["printer.kind"], printer_device=config["printer.device"],
            paper_mm=config["printer.paper_mm"],
        )  # fmt: skip


# The form's fields that are config keys, judged by the config's own checks.
CONFIG_FIELDS = {
    "kiosk_id": ("kiosk", "id"),
    "location": ("kiosk", "location"),
    "backend_url": ("backend", "url"),
    "language": ("kiosk", "language"),
    "orientation": ("ui", "orientation"),
    "require_pin": ("session", "require_pin"),
    "hall_name": ("hall", "name"),
    "hall_address": ("hall", "address"),
    "hall_counter": ("hall", "counter"),
    "printer_kind": ("printer", "kind"),
    "printer_device": ("printer", "device"),
    "paper_mm": ("printer", "paper_mm"),
}
PAGE_FIELDS = {
    "kiosk": ("kiosk_id", "location", "language", "orientation", "require_pin", "hall_name", "hall_address",
              "hall_counter", "printer_kind", "printer_device", "paper_mm"),
    "backend": ("backend_url", "ca_file", "token", "client_cert", "client_key"),
    "staff": ("admin_pin", "clerk_pin"),
    "check": (),
}  # fmt: skip
LABELS = {
    "kiosk_id": "本机编号 · kiosk id",
    "location": "安放位置 · where it stands",
    "backend_url": "后台地址 · backend URL",
    "ca_file": "根证书 · CA bundle",
    "token": "令牌 · token",
    "client_cert": "客户端证书 · client certificate",
    "client_key": "客户端私钥 · client key",
    "admin_pin": "管理员密码 · admin PIN",
    "clerk_pin": "业务员密码 · clerk PIN",
    "setup_code": "安装码（安装时打印）· setup code (the installer printed it)",
    "hall_name": "大厅名称 · the hall's name (on the slip)",
    "hall_address": "大厅地址 · the hall's address (on the slip)",
    "hall_counter": "办理窗口 · the counter for notices (on the slip)",
    "printer_kind": "打印机 · printer",
    "printer_device": "打印机地址 · printer address, device or CUPS queue",
    "paper_mm": "纸宽 · paper width",
}


class SetupCode:
    """A kiosk with no config is set up only by whoever installed it: the ss-kiosk package writes a one-time code
    beside the config and prints it; the first-run wizard asks for it. Wrong codes lock entry as staff PINs do
    (five, then five minutes); the code is removed once a config is saved. A kiosk started by its systemd unit
    (`deployed`) with no code file stays shut: the installer has not run since its config went. Otherwise no file,
    no code asked (a developer's `ss-kiosk run --config new.toml`)."""

    def __init__(self, config_path: Path, state_dir: Path, deployed: bool = False) -> None:
        self.file = config_path.parent / SETUP_CODE_FILE
        self.state_dir = state_dir
        self.deployed = deployed
        self._gate: StaffGate | None = None

    def required(self) -> bool:
        return self.deployed or self.file.exists()

    def enter(self, typed: str) -> Entry | str:
        """The gate's answer, or a sentence when the code cannot be checked at all or nothing was typed."""
        if not typed.strip().isdigit():  # a slip (↵ on an empty field) costs no try
            return "请输入安装时打印的数字安装码 · type the setup code the installer printed (digits)"
        if self._gate is None:
            try:
                code = self.file.read_text(encoding="ascii").strip()
                self.state_dir.mkdir(parents=True, exist_ok=True)
            except (OSError, UnicodeDecodeError) as e:
                return (f"安装码无法读取 · the setup code cannot be read ({self.file}: {e}); "
                        "run the bundle's install again")
            if not code.isdigit():
                return f"安装码文件不对 · {self.file} holds no digits; run the bundle's install again"
            audit = AuditLog(self.state_dir / "audit.log")
            self._gate = StaffGate({INSTALLER: hash_pin(code)}, self.state_dir / "setup-code-lock.json", audit)
        return self._gate.enter(typed)

    def used(self) -> None:
        """The config is saved: the code has done its job (best effort: the config, not the code, decides)."""
        with contextlib.suppress(OSError):
            self.file.unlink(missing_ok=True)


def problems(form: SetupForm, page: str, existing: Config | None = None, allow_http: bool = False) -> list[str]:
    """One sentence per answer on this page that the kiosk cannot run with; empty when the page is fine."""
    found: list[str] = []
    for name in PAGE_FIELDS[page]:
        value = getattr(form, name)
        if name in CONFIG_FIELDS:
            problem = KEYS[CONFIG_FIELDS[name]][1](value)
            if name == "backend_url" and not problem and urlsplit(value).scheme == "http" and not allow_http:
                problem = "must use https"
        elif name in ("ca_file", "client_cert", "client_key"):
            folder = existing.path.parent if existing is not None and existing.path is not None else None
            problem = _file_problem(name, value, folder)
        elif name == "token":
            ok = value.strip() and value.strip().isprintable()
            problem = None if ok else "is missing (one line, from the backend's operators)"
        else:
            problem = _pin_problem(form, name, existing)
        if problem:
            found.append(f"{LABELS.get(name, name)}: {problem}")
    if page == "kiosk" and form.printer_kind in PRINTER_KINDS:  # an unknown kind has its own sentence above
        problem = printer_problem(form.printer_kind, form.printer_device)
        if problem:
            found.append(f"{LABELS['printer_device']}: 选了打印机就要填对 · {problem}")
    if page == "backend" and bool(form.client_cert) != bool(form.client_key):
        found.append("客户端证书和私钥要一起设置 · client certificate and key go together")
    return found


def _file_problem(name: str, value: str, folder: Path | None = None) -> str | None:
    if not value:
        return None  # optional: the system's trust store, no client certificate
    path = Path(value)
    if folder is not None and not path.is_absolute():
        path = folder / path  # where the kiosk will look for it (Config.file)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a name in another encoding (GBK on a stick): the UTF-8 config cannot hold it
        return f"{value.encode('utf-8', 'replace').decode()}: rename the file in plain letters"
    if not path.is_file():
        return f"{value} is not a file"
    if name == "ca_file":
        try:
            ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError, ValueError):
            return f"{value} holds no PEM certificate"
    return None


def _pin_problem(form: SetupForm, name: str, existing: Config | None) -> str | None:
    pin, again = getattr(form, name), getattr(form, name + "_again")
    has_one = existing is not None and existing[f"staff.{name}_hash"]
    if not pin and has_one:
        return None  # keeps the PIN already set
    if not (pin.isdigit() and 6 <= len(pin) <= 12):
        return "must be 6 to 12 digits"
    if pin != again:
        return "the two entries differ"
    if name == "clerk_pin" and pin == form.admin_pin:
        return "must differ from the admin PIN"
    other = "clerk_pin" if name == "admin_pin" else "admin_pin"
    kept = existing[f"staff.{other}_hash"] if existing is not None and not getattr(form, other) else ""
    if kept and pin_matches(pin, kept):  # the gate tries the admin's hash first: one PIN would open both roles
        return f"must differ from the {other.split('_')[0]} PIN"
    return None


def save(form: SetupForm, path: Path, existing: Config | None = None) -> Config:
    """Write the token file and the config (both atomically), then load the config back as the kiosk will.

    Keys the wizard does not ask keep their value in `existing`. Raises ConfigError or OSError; on
    either the old files stay as they were."""
    values: dict[tuple[str, str], Any] = {key: default for key, (default, _) in KEYS.items()}
    if existing is not None:
        values.update(existing.values)
    for name, key in CONFIG_FIELDS.items():
        values[key] = getattr(form, name)
    values[("backend", "ca_file")] = form.ca_file
    values[("backend", "client_cert")] = form.client_cert
    values[("backend", "client_key")] = form.client_key
    for role, pin in ((ADMIN, form.admin_pin), (CLERK, form.clerk_pin)):
        if pin:
            values[("staff", f"{role}_pin_hash")] = hash_pin(pin)
    token_file = path.parent / TOKEN_FILE
    values[("backend", "token_file")] = str(token_file)
    # The data dir as this process finds it (XDG_DATA_HOME=/var/lib under systemd), written down: `ss-kiosk
    # doctor` or `sync --once` from root's shell must open the same outbox and cache, not make a second set.
    values[("kiosk", "data_dir")] = str(Config(values, path).data_dir)
    config = Config(values, path)
    from_text(render(config), path)  # a config the kiosk would refuse: nothing is written, not even the token
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(token_file, form.token.strip() + "\n")
    write(config, path)
    return load(path)


def candidate_files(suffixes: tuple[str, ...], folders: list[Path]) -> list[Path]:
    """Certificate or key files an engineer may have brought, to pick by touch instead of typing a path."""
    found: list[Path] = []
    for folder in folders:
        try:
            near = [*folder.glob("*"), *folder.glob("*/*"), *folder.glob("*/*/*")]  # a stick's top folders only
            found += [p for p in sorted(near) if p.suffix.lower() in suffixes and p.is_file()][:20]
        except OSError:
            continue  # a stick pulled out while we look
    return list(dict.fromkeys(found))


def search_folders(config_path: Path) -> list[Path]:
    return [config_path.parent, *(Path(d) for d in MEDIA_DIRS if Path(d).is_dir())]
