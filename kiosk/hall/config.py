"""The hall server's settings: a TOML file (docs/hall-server.md), every key checked with a plain sentence."""

from __future__ import annotations

import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULTS = {
    "data_dir": "/var/lib/ss-kiosk-hall",
    "host": "0.0.0.0",
    "api_port": 8443,
    "console_port": 8444,
    "database": "",
    "tls_cert": "",
    "tls_key": "",
    "client_ca": "",
    "token_file": "/etc/ss-kiosk-hall/kiosk-token",
    "notices_file": "",
    "session_idle_minutes": 30,
}


class HallConfigError(ValueError):
    """One sentence a field engineer can act on."""


@dataclass(frozen=True)
class HallConfig:
    data_dir: Path
    host: str
    api_port: int
    console_port: int
    database: str
    tls_cert: str
    tls_key: str
    client_ca: str
    token_file: Path
    notices_file: str
    session_idle_minutes: float
    places: dict[str, str] = field(default_factory=dict)

    def api_context(self) -> ssl.SSLContext:
        """The kiosks' port: the hall's certificate, and the kiosks' client certificates when client_ca is set."""
        context = self.console_context()
        if self.client_ca:
            context.load_verify_locations(self.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def console_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as e:
            raise HallConfigError(f"The hall's TLS certificate {self.tls_cert} or key {self.tls_key} cannot be "
                                  f"loaded ({getattr(e, 'strerror', None) or e}).") from None  # fmt: skip
        return context

    def token(self) -> str:
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise HallConfigError(f"The kiosk token file {self.token_file} cannot be read ({e.strerror}).") from None
        if len(token) < 16:
            raise HallConfigError(f"The kiosk token in {self.token_file} is shorter than 16 characters.")
        return token


def load(path: Path) -> HallConfig:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise HallConfigError(f"The hall config {path} cannot be read ({e.strerror}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise HallConfigError(f"The hall config {path} is not valid TOML ({e}).") from None
    hall = doc.get("hall", {})
    places = doc.get("places", {})
    if not isinstance(hall, dict) or not isinstance(places, dict):
        raise HallConfigError("[hall] and [places] must be tables.")
    unknown = sorted(set(hall) - set(DEFAULTS))
    if unknown:
        raise HallConfigError(f"[hall] has a key this version does not know: {unknown[0]}.")
    values = {**DEFAULTS, **hall}
    for key, default in DEFAULTS.items():
        if type(values[key]) is not type(default) and not (
            key == "session_idle_minutes" and type(values[key]) is float
        ):
            raise HallConfigError(f"[hall] {key} must be a {type(default).__name__}, not {values[key]!r}.")
    for key in ("api_port", "console_port"):
        if not 1 <= values[key] <= 65535:
            raise HallConfigError(f"[hall] {key} must be a port number (1-65535).")
    if values["api_port"] == values["console_port"]:
        raise HallConfigError("[hall] api_port and console_port must differ: kiosks must not reach the console.")
    if not (values["tls_cert"] and values["tls_key"]):
        raise HallConfigError("[hall] tls_cert and tls_key are required: kiosks and browsers speak HTTPS only.")
    if values["session_idle_minutes"] <= 0:
        raise HallConfigError("[hall] session_idle_minutes must be more than 0.")
    for kiosk_id, label in places.items():
        if not isinstance(label, str) or len(label) > 40:
            raise HallConfigError(f"[places] {kiosk_id} must be a label of up to 40 characters.")
    return HallConfig(
        data_dir=Path(values["data_dir"]), host=values["host"], api_port=values["api_port"],
        console_port=values["console_port"], database=values["database"], tls_cert=values["tls_cert"],
        tls_key=values["tls_key"], client_ca=values["client_ca"], token_file=Path(values["token_file"]),
        notices_file=values["notices_file"], session_idle_minutes=float(values["session_idle_minutes"]),
        places=dict(places),
    )  # fmt: skip
