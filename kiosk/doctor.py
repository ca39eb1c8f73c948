"""`ss-kiosk doctor`: every part a field engineer must see working, one line each with what to do.

Each check returns pass, warn or fail and a sentence; the command exits 0 only if nothing fails.
"""

from __future__ import annotations

import email.utils
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.config import Config, ConfigError, load
from kiosk.events import PrinterChanged
from kiosk.findings import FAIL, PASS, WARN, Finding
from kiosk.voicepack import Prompt

FREE_WARN_MB, FREE_FAIL_MB = 500, 50
CERT_WARN_DAYS = 30
SKEW_WARN_S = 60
OUTBOX_WARN = 100
_apps: list[object] = []  # the QGuiApplication a CUPS test page is drawn in, kept while doctor runs


def check_config(path: Path) -> tuple[Finding, Config | None]:
    try:
        config = load(path)
    except ConfigError as e:
        return Finding("config", FAIL, f"{e}; fix the file (docs/config.md)"), None
    where = f" at {config['kiosk.location']}" if config["kiosk.location"] else ""
    return Finding("config", PASS, f"{path} is valid: kiosk {config['kiosk.id']}{where}"), config


def check_pcsc(config: Config) -> list[Finding]:
    from hardware.pcscd import list_readers, vpcd_readers

    readers = list_readers()
    if readers is None:
        return [Finding("pc/sc service", FAIL, "pcscd does not answer: systemctl start pcscd.socket")]
    found = [Finding("pc/sc service", PASS, "pcscd answers")]
    wanted = config["reader.name_filter"].casefold()
    matching = [r for r in readers if wanted in r.casefold()]
    if not readers:
        found.append(Finding("reader", FAIL, "no card reader is connected: plug in the reader, check its USB cable"))
    elif not matching:
        found.append(Finding("reader", FAIL, f"no reader matches reader.name_filter {config['reader.name_filter']!r}; "
                                             f"readers: {', '.join(readers)}"))  # fmt: skip
    elif len(readers) > 1 and not wanted:
        found.append(Finding("reader", WARN, f"{len(readers)} readers and no reader.name_filter: the kiosk uses "
                                             f"{readers[0]!r}; set the filter to the citizen's reader"))  # fmt: skip
    else:
        found.append(Finding("reader", PASS, f"using {matching[0]!r}"))
    if vpcd_readers(readers) and not config["demo.allow_loopback_http"]:
        found.append(Finding("virtual reader", WARN, "vsmartcard-vpcd is installed and listens on the network: "
                                                     "apt-get purge vsmartcard-vpcd on a hall kiosk"))  # fmt: skip
    return found


def check_psam(config: Config) -> Finding:
    """The security module third-generation cards need: in its slot, the social security application, unlocked."""
    from hardware.card_once import psam_once
    from hardware.pcscd import list_readers
    from kiosk.staff import psam_words

    wanted = config["reader.psam_filter"]
    if not wanted:
        return Finding("psam", WARN, f"no reader.psam_filter (spec 3.xx cards): {psam_words('not_configured')}")
    readers = list_readers() or []
    matching = [r for r in readers if wanted.casefold() in r.casefold()]
    if not matching:
        return Finding("psam", FAIL, f"no reader matches reader.psam_filter {wanted!r}; readers: "
                                     f"{', '.join(readers) or 'none'}")  # fmt: skip
    citizens = [r for r in readers if config["reader.name_filter"].casefold() in r.casefold()]
    if citizens == matching[:1]:  # the thread never serves the PSAM's reader as the citizen's: none would be left
        return Finding("psam", FAIL, f"reader.name_filter and reader.psam_filter both name only {matching[0]!r}: "
                                     "give each slot its own filter")  # fmt: skip
    found = psam_once(wanted)
    if found.ready:
        return Finding("psam", PASS, f"social security PSAM in {found.reader!r}, terminal {found.terminal_number}")
    return Finding("psam", FAIL, f"{found.status} in {matching[0]!r} ({found.detail}), {psam_words(found.status)}")


def check_card(config: Config, wait_s: float = 1.5, card_required: bool = False) -> Finding:
    from hardware.card_once import ReadOnceError, read_card_once

    try:
        _, read, _ = read_card_once(config["reader.name_filter"], wait_s, None, config["reader.psam_filter"])
    except ReadOnceError as e:
        if e.reason == "no_card":
            status = FAIL if card_required else PASS
            return Finding("card", status, "no card in the reader (insert a test card to check reading)")
        if e.reason in ("no_service", "no_reader"):
            return Finding("card", WARN, "not checked: no reader")
        if e.reason.startswith("psam_"):  # the test card is fine: this kiosk's PSAM failed it
            return Finding("card", FAIL, f"the PSAM failed the test card ({e}): ss-kiosk read-card --psam says why")
        return Finding("card", WARN, f"the card in the reader cannot be read ({e}): ss-kiosk read-card says why")
    return Finding("card", PASS, f"read a generation {read.card.generation or '?'} social security card")


def check_voice(config: Config) -> list[Finding]:
    from hardware.speech import VOICES, _default_player
    from hardware.synthesis import choose
    from kiosk.staff import voice_limits

    if not config["voice.enabled"]:
        return [Finding("voice", PASS, "switched off by voice.enabled")]
    language = config["kiosk.language"]
    voice, cantonese = VOICES[language], VOICES["yue"]
    wanted = {language: voice} | ({"yue": cantonese} if "yue" in config["voice.languages"] else {})
    engine = choose(config["voice.engine"])
    try:
        started = engine.start(wanted)  # once for both: Cantonese missing is a warning, the kiosk's voice a failure
    finally:
        engine.close()
    if started.broken or language in started.missing:
        fix = _VOICE_FIX.get(engine.name, _VOICE_FIX["*"])
        return [Finding("voice", FAIL, f"{engine.name}: {started.problem}: {fix}")]
    found = [
        Finding("voice", PASS, f"{voice} for {language} through {engine.name}"),
        # What the back-end cannot honour is said here, never hidden: a warning, so doctor still passes.
        Finding("voice engine", WARN if engine.limits else PASS, voice_limits(engine.name, engine.limits)),
    ]
    if "yue" in wanted:  # Cantonese without its voice is said in Mandarin: the hall should know
        found.append(Finding("cantonese voice", PASS, f"{cantonese} for yue") if "yue" not in started.missing
                     else Finding("cantonese voice", WARN, f"voice {cantonese} missing: 粤语 is said in Mandarin; "
                                  "apt-get install espeak-ng-data"))  # fmt: skip
    if not _default_player():
        found.append(Finding("sound", WARN, "no sound card (aplay -l): the kiosk will be silent; check the "
                                            "speaker's cable and alsamixer"))  # fmt: skip
    else:
        found.append(Finding("sound", PASS, "a sound card answers"))
    return found


_VOICE_FIX = {
    "espeak-ng": "apt-get install espeak-ng espeak-ng-data",
    "pyttsx3 (espeak)": "apt-get install libespeak-ng1 espeak-ng-data",
    "*": 'install pyttsx3 and a Mandarin voice for it, or set voice.engine = "espeak-ng"',
}


VOICE_TEST = {"zh_CN": "语音测试。欢迎使用社会保障自助服务。", "en": "Voice test. Welcome to the kiosk."}


def check_voice_prompt(config: Config) -> Finding:
    """Say a test prompt through the kiosk's own speech worker: audio must come out of its back-end."""
    import threading

    from hardware.speech import Audio, Speech

    if not config["voice.enabled"]:
        return Finding("voice test", PASS, "switched off by voice.enabled")
    heard: list[Audio] = []
    done = threading.Event()
    speech = Speech(rate=config["voice.rate"], volume=config["voice.volume"], engine=config["voice.engine"],
                    on_audio=lambda audio: (heard.append(audio), done.set()))  # fmt: skip
    speech.start()
    try:
        speech.say(VOICE_TEST[config["kiosk.language"]], config["kiosk.language"])
        done.wait(10)
        if heard and heard[0].peak > 0:
            where = "played" if speech.state.status == "ready" else f"not played: {speech.state.detail}"
            return Finding("voice test", PASS, f"a test prompt of {heard[0].seconds:.1f} s was spoken by "
                                               f"{speech.state.engine} ({where})")  # fmt: skip
        return Finding("voice test", FAIL, f"no audio came out ({speech.state.status} {speech.state.detail})")
    finally:
        speech.close()


def check_voice_pack(config: Config, prompts: Sequence[Prompt]) -> Finding:
    """The hall's recorded prompts: how many of today's the kiosk plays; a broken pack only means synthesis."""
    from kiosk.voicepack import against_today, coverage, load, load_manifest

    folder = config.file("voice.pack")
    if folder is None:
        return Finding("voice pack", PASS, "none: every prompt synthesized (voice.pack)")
    pack = load(folder)
    if pack.error:
        return Finding("voice pack", WARN, f"not used, every prompt synthesized: {pack.error}")
    problems = against_today(load_manifest(folder), prompts) + pack.problems
    line = coverage(pack.clips, prompts, pack).line()
    if not problems:
        return Finding("voice pack", PASS, line)
    return Finding("voice pack", WARN, f"{line}; {len(problems)} problem(s), first: {problems[0].line()}; "
                                       f"ss-kiosk voice-pack check {folder}")  # fmt: skip


def check_printer(config: Config, test_print: bool = False) -> Finding:
    """The receipt printer: how it is now, and with `test_print` a test slip through the kiosk's own path."""
    from hardware.printer import driver_for, print_once
    from kiosk.slip import CAN_PRINT, Place, test_slip
    from kiosk.staff import printer_words

    kind, device = config["printer.kind"], config["printer.device"]
    if kind == "none":
        return Finding("printer", PASS, "none ([printer] kind): citizens are offered the QR code only")
    driver, where = driver_for(kind, device, config["printer.paper_mm"]), f"{kind} {device}"
    now = driver.state()
    if now.state not in CAN_PRINT:
        detail = f" ({now.detail})" if now.detail else ""
        return Finding("printer", FAIL, f"{where}: {printer_words(now.state)}{detail}")
    if test_print:
        if kind == "cups":  # the page is drawn by Qt: the screen's application, or one with no window
            from PySide6.QtGui import QGuiApplication

            _apps.append(QGuiApplication.instance() or QGuiApplication(["ss-kiosk", "-platform", "offscreen"]))
        slip = test_slip(Place.from_config(config), config["kiosk.id"], datetime.now().astimezone())
        printed = print_once(driver, slip)
        if not printed.ok:
            return Finding("printer", FAIL, f"{where}: the test slip did not print: {printer_words(printed.state)}")
        now = PrinterChanged(printed.state)
    status = PASS if now.state == "ready" else WARN
    done = "; a test slip printed: check it is sharp and cut clean" if test_print else ""
    return Finding("printer", status, f"{where}: {printer_words(now.state)}{done}")


def check_sync(config: Config) -> Finding:
    """One broadcast sync into the kiosk's own cache, as the kiosk will do it."""
    from kiosk.cache import BroadcastCache
    from kiosk.sync import Backend, BackendError, BackendSettings, sync_broadcast

    config.data_dir.mkdir(parents=True, exist_ok=True)
    cache = BroadcastCache(config.data_dir / "broadcast.sqlite3")
    try:
        report = sync_broadcast(Backend(BackendSettings.from_config(config)), cache)
    except (BackendError, ConfigError) as e:
        return Finding("sync", FAIL, str(e))
    finally:
        cache.close()
    return Finding("sync", PASS, f"synced: {report.new} new, {report.updated} updated, {report.deleted} removed")


def setup_checks(config: Config, card_wait_s: float = 20.0) -> list[Finding]:
    """The wizard's live check: the reader reads a card, the backend answers over TLS and syncs, the voice speaks."""
    steps: list[Callable[[], Finding | list[Finding]]] = [
        lambda: check_pcsc(config),
        lambda: check_psam(config),
        lambda: check_card(config, card_wait_s, card_required=True),
        lambda: check_backend(config),
        lambda: check_sync(config),
        lambda: check_voice_prompt(config),
        lambda: check_printer(config, test_print=True),
    ]
    return _run_steps(steps)


def check_font() -> Finding:
    listing = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30).stdout
    if not listing.strip():
        return Finding("chinese font", FAIL, "no font for Chinese: apt-get install fonts-noto-cjk")
    if "Noto Sans CJK" not in listing:
        return Finding("chinese font", WARN, "Noto Sans CJK missing (another Chinese font will be used)")
    return Finding("chinese font", PASS, "Noto Sans CJK SC")


def check_screen() -> Finding:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return Finding("screen", WARN, "no display in this environment (run doctor on the kiosk's session)")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])
    screen = app.primaryScreen()
    if screen is None:
        return Finding("screen", FAIL, "no screen: check the monitor cable")
    size = screen.geometry()
    shape = "landscape" if size.width() >= size.height() else "portrait"
    return Finding("screen", PASS, f"{size.width()}×{size.height()} {shape}")


def check_backend(config: Config) -> list[Finding]:
    url = urlsplit(config["backend.url"])
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    if url.scheme != "https":
        return [Finding("backend tls", WARN, "plain HTTP (demo only)")]
    ca = config.file("backend.ca_file")
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    try:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as e:
        return [Finding("backend tls", FAIL, f"the certificate is not trusted ({e.verify_message}): check "
                                             f"backend.ca_file and the kiosk's clock")]  # fmt: skip
    except (OSError, ssl.SSLError) as e:
        return [Finding("backend tls", FAIL, f"{host}:{port} cannot be reached ({e}): check the network")]
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days = (expires - datetime.now(UTC)).days
    status = WARN if days < CERT_WARN_DAYS else PASS
    found = [Finding("backend tls", status, f"certificate valid, expires in {days} days")]
    found.append(check_clock(config))
    return found


def check_clock(config: Config) -> Finding:
    from kiosk.sync import Backend, BackendError, BackendSettings

    try:
        _, headers, _ = Backend(BackendSettings.from_config(config)).call("GET", "/notices/broadcast")
    except BackendError as e:
        return Finding("backend api", FAIL, str(e))
    except ConfigError as e:
        return Finding("backend api", FAIL, str(e))
    date = headers.get("Date")
    if not date:
        return Finding("clock", WARN, "the backend sends no Date header: the clock cannot be compared")
    skew = abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time())
    if skew > SKEW_WARN_S:
        return Finding("clock", WARN, f"the kiosk's clock is {skew:.0f} s off the backend's: check NTP")
    return Finding("clock", PASS, f"within {skew:.0f} s of the backend's")


def check_data(config: Config) -> list[Finding]:
    from kiosk.cache import BroadcastCache
    from kiosk.outbox import Outbox, OutboxError

    data = config.data_dir
    try:
        data.mkdir(parents=True, exist_ok=True)
        probe = data / ".doctor-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        return [Finding("data dir", FAIL, f"{data} is not writable ({e.strerror}): chown it to the kiosk user")]
    free_mb = shutil.disk_usage(data).free // 2**20
    status = FAIL if free_mb < FREE_FAIL_MB else WARN if free_mb < FREE_WARN_MB else PASS
    found = [Finding("data dir", status, f"{data} writable, {free_mb} MB free")]
    cache = BroadcastCache(data / "broadcast.sqlite3")
    last = cache.last_sync
    if last is None:
        found.append(Finding("broadcast", WARN, "never synced: check the backend line above"))
    elif cache.stale():
        hours = (time.time() - last) / 3600
        found.append(Finding("broadcast", WARN, f"last synced {hours:.0f} h ago: citizens see old notices"))
    else:
        found.append(Finding("broadcast", PASS, f"{cache.count()} notices, synced "
                                                f"{(time.time() - last) / 60:.0f} min ago"))  # fmt: skip
    cache.close()
    try:
        outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    except OutboxError as e:
        found.append(Finding("outbox", FAIL, str(e)))
        return found
    depth, aside = outbox.depth(), outbox.undeliverable()
    outbox.close()
    status = WARN if depth > OUTBOX_WARN or aside else PASS
    found.append(Finding("outbox", status, f"{depth} waiting, {aside} set aside"))
    return found


def check_network_worker(config: Config) -> Finding:
    """The running kiosk's network worker (kiosk/network.py): whether it runs, how often it was started again."""
    from kiosk.network import STATUS_FILE

    try:
        status = json.loads((config.data_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return Finding("network worker", WARN, "no kiosk has run here yet (no network-worker.json)")
    if not isinstance(status, dict) or not Path(f"/proc/{status.get('kiosk_pid')}").exists():
        return Finding("network worker", WARN, "the kiosk is not running (systemctl status ss-kiosk)")
    worker, restarts = status.get("worker_pid"), status.get("restarts", 0)
    again = f"; started again {restarts} times, last: {status.get('last_exit')} (journalctl -u ss-kiosk)"
    if not worker or not Path(f"/proc/{worker}").exists():
        return Finding("network worker", FAIL, f"not running: the kiosk is starting it again{again}")
    if restarts:
        return Finding("network worker", WARN, f"running (pid {worker}){again}")
    return Finding("network worker", PASS, f"running (pid {worker}), never had to be started again")


def run(
    config_path: Path, card: bool = True, prompts: Sequence[Prompt] = (), test_print: bool = False
) -> list[Finding]:
    first, config = check_config(config_path)
    findings = [first]
    if config is None:
        return [*findings, check_font(), check_screen()]
    steps: list[Callable[[], Finding | list[Finding]]] = [
        lambda: check_pcsc(config),
        lambda: check_psam(config),
        *([lambda: check_card(config)] if card else []),
        lambda: check_voice(config),
        lambda: check_voice_pack(config, prompts),
        check_font,
        check_screen,
        lambda: check_printer(config, test_print),  # after the screen: a CUPS page needs a QGuiApplication
        lambda: check_backend(config),
        lambda: check_data(config),
        lambda: check_network_worker(config),
    ]
    return findings + _run_steps(steps)


def _run_steps(steps: list[Callable[[], Finding | list[Finding]]]) -> list[Finding]:
    findings: list[Finding] = []
    for step in steps:
        try:
            result = step()
        except Exception as e:  # a check that breaks is itself a finding, never a traceback
            result = Finding(getattr(step, "__name__", "check"), FAIL, f"the check failed ({type(e).__name__}: {e})")
        findings += result if isinstance(result, list) else [result]
    return findings


def as_json(findings: list[Finding]) -> list[dict]:
    return [asdict(f) for f in findings]
