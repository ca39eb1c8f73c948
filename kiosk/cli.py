"""The `ss-kiosk` command: the one place that wires concrete devices to the core (DESIGN §4)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import __version__
from kiosk.card import CardFault
from kiosk.events import PinChecked

if TYPE_CHECKING:
    from hardware.card_once import ReadOnceError
    from kiosk.config import Config
    from kiosk.findings import Finding
    from ui.app import CardReader, Devices, ReceiptPrinter, SpeechEngine

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_PERSON = ASSETS / "persons" / "wang-ming.json"
DEMO_READER, DEMO_PSAM_READER = "Virtual PCD 00 00", "Virtual PCD 00 01"  # vpcd's two slots: card, PSAM
DEMO_STAFF_PINS = {"admin": "246813", "clerk": "135792"}  # shown on the demo's tester panel; never on a hall kiosk

# Exit codes of read-card (DESIGN §4); 6: the card may be fine, the terminal's PSAM is what failed.
EXIT_READ, EXIT_NO_READER, EXIT_NO_CARD, EXIT_BAD_CARD, EXIT_PIN, EXIT_PSAM = 0, 2, 3, 4, 5, 6

FAULT_SENTENCES = {
    CardFault.NOT_SOCIAL_SECURITY_CARD: "This is not a social security card: it has no social security application.",
    CardFault.UNREADABLE: "This card could not be read: its data breaks the social security card layout ({detail}).",
    CardFault.REMOVED_DURING_READ: "The card was taken out before it was fully read; insert it again and leave it in.",
    CardFault.CARD_LOCKED: "The card's social security application is locked; the cardholder must go to the counter.",
    CardFault.NOT_GENUINE: "This card failed internal authentication: it is not a genuine social security card "
    "or it is damaged ({detail}).",
    CardFault.CARD_KEY_BLOCKED: "The card's read key (RKSSSE) is blocked; the cardholder must go to the counter.",
    CardFault.NEEDS_SECURITY_MODULE: "This third generation card needs the terminal's security module (PSAM): "
    "name its reader with --psam.",
    CardFault.PSAM_ABSENT: "No PSAM answers in the PSAM reader: check that it is in its slot ({detail}).",
    CardFault.PSAM_WRONG_APPLICATION: "The card in the PSAM reader is not a social security PSAM ({detail}).",
    CardFault.PSAM_LOCKED: "The PSAM is locked: the hall must replace it ({detail}).",
    CardFault.PSAM_REFUSED: "The PSAM refused to compute the authentication ({detail}).",
    CardFault.PSAM_KEY_MISMATCH: "The card refused the PSAM's key: the PSAM is not for this card's region or is "
    "a test PSAM ({detail}).",
    CardFault.PSAM_SPENT_LAST_TRY: "The card refused the PSAM's key with its last try: the card's read key (RKSSSE) "
    "is blocked now, the cardholder must go to the counter, and the PSAM is not for this card's region ({detail}).",
    CardFault.PSAM_REMOVED: "The PSAM was taken out during the authentication; put it back and read again.",
}


class CommandError(Exception):
    """One plain sentence for stderr, and the exit code that goes with it."""

    def __init__(self, code: int, sentence: str, error: str) -> None:
        super().__init__(sentence)
        self.code = code
        self.sentence = sentence
        self.error = error


# ---------------------------------------------------------------------------------------------
# read-card
# ---------------------------------------------------------------------------------------------
def read_failure(error: ReadOnceError, reader_filter: str, timeout: float) -> CommandError:
    """read-card's exit code and sentence for why hardware.card_once read no card."""
    reason = error.reason
    if reason == "no_service":
        return CommandError(
            EXIT_NO_READER, "No PC/SC service answers: start pcscd (systemctl start pcscd.socket).", "no_service"
        )
    if reason == "no_reader":
        if not error.readers:
            return CommandError(EXIT_NO_READER, "No card reader is connected.", "no_reader")
        return CommandError(
            EXIT_NO_READER,
            f"No reader name contains {reader_filter!r}; readers: {', '.join(error.readers)}.",
            "no_reader",
        )
    if reason == "no_card":
        return CommandError(EXIT_NO_CARD, f"No card was inserted within {timeout:g} seconds.", "no_card")
    if reason == "no_pin_answer":
        return CommandError(EXIT_BAD_CARD, "The card did not answer the PIN check.", "no_pin_answer")
    fault = CardFault(reason)
    sentence = FAULT_SENTENCES[fault].format(detail=error.detail or "no detail")
    return CommandError(EXIT_PSAM if fault.kiosk_side else EXIT_BAD_CARD, sentence, reason)


def pin_sentence(checked: PinChecked) -> str:
    if checked.blocked:
        return "The card PIN is blocked: the cardholder must have it unblocked at the counter."
    if checked.tries_left == 1:
        return "The PIN is wrong; one more wrong PIN blocks the card."
    if checked.tries_left is not None:
        return f"The PIN is wrong; {checked.tries_left} tries left."
    return "The card did not accept the PIN."


def cmd_read_card(args: argparse.Namespace) -> int:
    pin = args.pin
    if pin == "-":
        pin = sys.stdin.readline().strip()
    if pin is not None and not (len(pin) == 6 and pin.isdigit()):
        return _fail(args, CommandError(EXIT_PIN, "The card PIN has 6 digits.", "bad_pin_format"))
    from hardware.card_once import ReadOnceError, read_card_once

    reader, psam = args.reader, args.psam
    if args.config is not None:  # the kiosk's own readers, unless named on the command line
        from kiosk.config import ConfigError, load

        try:
            config = load(args.config)
        except ConfigError as e:
            return _fail(args, CommandError(EXIT_NO_READER, str(e), "config"))
        reader = config["reader.name_filter"] if reader is None else reader
        psam = config["reader.psam_filter"] if psam is None else psam
    reader, psam = reader or "", psam or ""
    try:
        extra, read, checked = read_card_once(reader, args.timeout, pin, psam_filter=psam)
    except ReadOnceError as e:
        return _fail(args, read_failure(e, reader, args.timeout))
    out: dict[str, object] = read.card.as_json(reveal=args.reveal)
    out["expired"] = read.card.expired(date.today())
    out.update(extra)
    code = EXIT_READ
    if checked is not None:
        out["pin_ok"] = checked.ok
        out["tries_left"] = checked.tries_left
        if not checked.ok:
            code = EXIT_PIN
            print(pin_sentence(checked), file=sys.stderr)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        width = max(len(k) for k in out)
        for key, value in out.items():
            print(f"{key:<{width}}  {value}")
    return code


def _fail(args: argparse.Namespace, error: CommandError) -> int:
    print(error.sentence, file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": error.error, "message": error.sentence}, ensure_ascii=False))
    return error.code


# ---------------------------------------------------------------------------------------------
# emulate-card
# ---------------------------------------------------------------------------------------------
EMULATOR_HELP = """commands on standard input, one a line:
  insert | remove | fault NAME | clear-faults | person FILE | quit"""


def cmd_emulate_card(args: argparse.Namespace) -> int:
    from hardware.emulator import CardEmulator, Person, PersonError

    try:
        person = Person.load(args.person)
        person.faults += args.fault or []
        Person.check_faults(person.faults, str(args.person))
    except PersonError as e:
        print(e, file=sys.stderr)
        return 2
    emulator = CardEmulator(person, port=args.port, host=args.host)

    def say(text: str) -> None:
        print(f"{text} {time.monotonic():.6f}", flush=True)

    def insert() -> None:
        try:
            emulator.insert()
            say("inserted")
        except OSError as e:
            print(
                f"Cannot reach the vpcd reader at {args.host}:{args.port} ({e}); is pcscd running with vpcd?",
                file=sys.stderr,
                flush=True,
            )

    if not args.removed:
        insert()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def commands() -> None:
        for line in sys.stdin:
            word, _, rest = line.strip().partition(" ")
            if word == "insert":
                insert()
            elif word == "remove":
                emulator.remove()
                say("removed")
            elif word == "fault":
                person.faults.append(rest)
                say(f"fault {rest}")
            elif word == "clear-faults":
                person.faults.clear()
                say("faults cleared")
            elif word == "person":
                try:
                    emulator.person = Person.load(rest)
                    say("person loaded")
                except PersonError as e:
                    print(e, file=sys.stderr, flush=True)
            elif word == "quit":
                break
            elif word:
                print(f"unknown command {word!r}; {EMULATOR_HELP}", file=sys.stderr, flush=True)
        else:
            return  # standard input closed: keep serving until a signal
        stop.set()

    threading.Thread(target=commands, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    emulator.remove()
    return 0


# ---------------------------------------------------------------------------------------------
# demo-backend, sync, notices
# ---------------------------------------------------------------------------------------------
DEFAULT_CONFIG = Path("/etc/ss-kiosk/config.toml")


def demo_kiosk_config(backend_url: str, ca_file: Path, token_file: Path, data_dir: Path) -> str:
    """A kiosk config that talks to a demo backend (TOML text)."""
    return (
        f'[kiosk]\nid = "demo-kiosk"\ndata_dir = "{data_dir}"\n\n'
        f'[backend]\nurl = "{backend_url}"\nca_file = "{ca_file}"\ntoken_file = "{token_file}"\n'
    )


def cmd_demo_backend(args: argparse.Namespace) -> int:
    import tempfile

    from kiosk.hall.api import SAMPLE
    from kiosk.hall.server import HallServer

    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="ss-kiosk-demo-backend-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        backend = HallServer(folder, notices=args.notices or SAMPLE, port=args.port)
    except OSError as e:
        print(f"The demo backend cannot listen on port {args.port} ({e.strerror}).", file=sys.stderr)
        return 2
    except (ValueError, KeyError) as e:
        print(f"The notices file cannot be loaded ({e}).", file=sys.stderr)
        return 2
    config = folder / "kiosk.toml"
    config.write_text(demo_kiosk_config(backend.url, backend.tls.ca_file, backend.token_file, folder / "kiosk-data"))
    backend.start()
    print(f"demo backend  {backend.url}\nCA            {backend.tls.ca_file}\ntoken         {backend.token_file}")
    print(f"kiosk config  {config}   (ss-kiosk sync --once --config {config})")
    print(demo_console(backend), flush=True)
    return _serve_until_stopped(backend)


def demo_console(hall: object) -> str:
    """A throwaway admin account on a demo hall server, and where its console is: the line the demo prints."""
    import secrets

    from kiosk.staff import ADMIN, hash_secret

    password = secrets.token_urlsafe(9)
    hall.store.put_staff("demo-admin", ADMIN, hash_secret(password))  # type: ignore[attr-defined]
    return f"hall console  {hall.console_url}   (log in as demo-admin, password {password})"  # type: ignore[attr-defined]


def _serve_until_stopped(server: object) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()  # type: ignore[attr-defined]
    return 0


def cmd_hall_server(args: argparse.Namespace) -> int:
    """The hall server for real: the hall's certificate, its kiosk token, its database (docs/hall-server.md)."""
    from kiosk.hall import config as hall_config
    from kiosk.hall.api import SAMPLE
    from kiosk.hall.server import HallServer

    try:
        hall = hall_config.load(args.config)
        server = HallServer(hall.data_dir, notices=Path(hall.notices_file) if hall.notices_file else SAMPLE,
                            token=hall.token(), port=hall.api_port, server_context=hall.api_context(),
                            database=hall.database, console_port=hall.console_port,
                            console_context=hall.console_context(), places=hall.places,
                            session_idle_s=hall.session_idle_minutes * 60, host=hall.host)  # fmt: skip
    except hall_config.HallConfigError as e:
        print(e, file=sys.stderr)
        return 2
    except OSError as e:
        print(f"The hall server cannot start ({e.strerror or e}).", file=sys.stderr)
        return 2
    server.start()
    print(f"hall server   kiosks {server.url}\n              console {server.console_url}", flush=True)
    return _serve_until_stopped(server)


def cmd_hall_account(args: argparse.Namespace) -> int:
    """Add a console account, or give one a new password or role (which signs its browsers out)."""
    import getpass

    from kiosk.hall import config as hall_config
    from kiosk.hall.console import MIN_PASSWORD
    from kiosk.hall.store import HallStore
    from kiosk.staff import hash_secret

    try:
        hall = hall_config.load(args.config)
    except hall_config.HallConfigError as e:
        print(e, file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    if not args.password_stdin and getpass.getpass("again: ") != password:
        print("The two passwords differ; nothing changed.", file=sys.stderr)
        return 2
    if len(password) < MIN_PASSWORD:
        print(f"A console password has at least {MIN_PASSWORD} characters; nothing changed.", file=sys.stderr)
        return 2
    store = HallStore(hall.database or hall.data_dir / "hall.sqlite3")
    store.put_staff(args.name, args.role, hash_secret(password))
    store.audit("hall-account", "account_set", f"{args.name} {args.role}")
    store.close()
    print(f"account {args.name} ({args.role}) saved")
    return 0


def open_stores(config_path: Path) -> tuple[object, object, object]:
    """Config, broadcast cache and outbox for a command; raises CommandError with one sentence."""
    from kiosk.cache import BroadcastCache
    from kiosk.config import ConfigError, load
    from kiosk.outbox import Outbox

    try:
        config = load(config_path)
    except ConfigError as e:
        raise CommandError(2, str(e), "config") from None
    data = config.data_dir
    try:
        data.mkdir(parents=True, exist_ok=True)
        return config, BroadcastCache(data / "broadcast.sqlite3"), Outbox(data / "outbox.sqlite3", data / "outbox.key")
    except OSError as e:
        raise CommandError(2, f"The data dir {data} cannot be used ({e.strerror}).", "data_dir") from None


def cmd_sync(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError
    from kiosk.sync import Backend, BackendError, BackendSettings, flush_outbox, sync_broadcast

    try:
        config, cache, outbox = open_stores(args.config)
        backend = Backend(BackendSettings.from_config(config))
        report = sync_broadcast(backend, cache)
        flush_outbox(backend, outbox, report)
    except CommandError as e:
        return _fail(args, e)
    except ConfigError as e:
        return _fail(args, CommandError(2, str(e), "config"))
    except BackendError as e:
        return _fail(args, CommandError(1, str(e), e.kind))
    state = "not modified (304)" if report.not_modified else f"{report.pages} page(s)"
    print(f"broadcast: {state}; {report.new} new, {report.updated} updated, {report.deleted} deleted, "
          f"{len(report.skipped)} invalid skipped")  # fmt: skip
    for line in report.skipped:
        print(f"  skipped {line}")
    print(f"outbox: {report.receipts_sent} receipts and {report.assists_sent} help requests sent, "
          f"{outbox.depth()} waiting")  # fmt: skip
    return 0


def cmd_notices(args: argparse.Namespace) -> int:
    """What the attract screen shows: cached broadcast notices for everyone, ranked; works offline."""
    from kiosk.cache import CachedNotices
    from kiosk.notices import SHOWN_FIRST

    try:
        _, cache, _ = open_stores(args.config)
    except CommandError as e:
        return _fail(args, e)
    notices = CachedNotices(cache.path).ranked(time.time(), None)  # as the window asks, all of them
    last = cache.last_sync
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last)) if last else "never"
    print(f"{len(notices)} notices for everyone; last sync {when}{' (STALE)' if cache.stale() else ''}")
    for position, notice in enumerate(notices, 1):
        more = "  (behind 'more')" if position > SHOWN_FIRST else ""
        print(f"{position:2}. [{notice.priority}] {notice.category}: {notice.title}{more}")
    return 0


def devices() -> Devices:
    """The concrete devices the window drives: the pyscard reader thread, the voice's process, doctor's checks.
    Each is imported when the kiosk starts it, after the first paint (the window itself knows none of them)."""
    from ui.app import Devices

    def card_reader(post: Callable[[Any], None], **options: Any) -> CardReader:
        from hardware.pcsc import CardReaderThread

        return CardReaderThread(post, **options)

    def speech(**options: Any) -> SpeechEngine:
        from hardware.speech_process import SpeechProcess

        return SpeechProcess(**options)

    def setup_checks(config: Config) -> list[Finding]:
        from kiosk.doctor import setup_checks

        return setup_checks(config)

    def printer(post: Callable[[Any], None], kind: str, device: str, paper_mm: int) -> ReceiptPrinter:
        from hardware.printer import PrinterThread, driver_for

        return PrinterThread(post, driver_for(kind, device, paper_mm))

    return Devices(card_reader=card_reader, speech=speech, setup_checks=setup_checks, printer=printer)


def cmd_run(args: argparse.Namespace) -> int:
    """The production kiosk. A config it cannot run with shows "out of service", never a traceback."""
    from kiosk.config import ConfigError, load

    if not Path(args.config).exists():
        from ui.app import first_run

        logging.getLogger("kiosk").warning("no config at %s: the set-up wizard", args.config)
        return first_run(Path(args.config), devices(), windowed=args.windowed)  # a new kiosk: the set-up wizard
    try:
        config = load(args.config)
    except ConfigError as e:
        logging.getLogger("kiosk").error("out of service: %s", e)
        from ui.app import out_of_service

        return out_of_service(str(e), windowed=args.windowed)
    from ui.app import run

    return run(config, devices(), windowed=args.windowed)


def cmd_staff_pin(args: argparse.Namespace) -> int:
    """A staff PIN, typed twice, as the scrypt hash that goes into staff.admin_pin_hash / clerk_pin_hash."""
    import getpass

    from kiosk.staff import hash_pin

    def ask(prompt: str) -> str:
        return getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().strip()

    first, second = ask("staff PIN (6-12 digits): "), ask("again: ")
    if first != second:
        print("The two PINs do not match.", file=sys.stderr)
        return 2
    try:
        print(hash_pin(first))
    except ValueError as e:
        print(f"{str(e).capitalize()}.", file=sys.stderr)
        return 2
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """One line a check, with what to do; exit 0 only if nothing fails."""
    from kiosk.doctor import FAIL, as_json, run

    findings = run(args.config, card=not args.no_card, prompts=fixed_prompts(), test_print=args.test_print)
    if args.json:
        print(json.dumps(as_json(findings), ensure_ascii=False))
    else:
        width = max(len(f.check) for f in findings)
        for f in findings:
            print(f"{f.status.upper():<4}  {f.check:<{width}}  {f.message}")
    return 1 if any(f.status == FAIL for f in findings) else 0


# ---------------------------------------------------------------------------------------------
# voice-pack
# ---------------------------------------------------------------------------------------------
def fixed_prompts() -> list[Any]:
    """Today's fixed prompts, both languages, in the citizen's order (their words live with the screens)."""
    from ui.texts import fixed_prompts

    return fixed_prompts()


def cmd_voice_pack(args: argparse.Namespace) -> int:
    """export: the voice actor's script and a manifest to fill; check: one line per defect, exit 1 if any."""
    from kiosk.voicepack import PackError, check, export

    try:
        if args.action == "export":
            for path in export(args.folder, fixed_prompts(), args.language, args.sample_rate):
                print(path)
            return 0
        problems = check(args.folder, fixed_prompts())
    except PackError as e:
        print(e, file=sys.stderr)
        return 2
    for problem in problems:
        print(problem.line())
    if not problems:
        print(f"{args.folder}: no problems")
    return 1 if problems else 0


# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    """The whole kiosk on its embedded default: pcscd, an emulated card, the reference backend, the screens."""
    import tempfile

    from hardware.emulator import CardEmulator, Person, PsamEmulator
    from hardware.pcscd import PcscdError, ensure_pcscd
    from kiosk.config import from_text
    from kiosk.hall.server import HallServer

    try:
        pcscd = ensure_pcscd()
    except PcscdError as e:
        print(e, file=sys.stderr)
        return EXIT_NO_READER
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-demo-"))
    backend = HallServer(folder, port=0, places={"demo-kiosk": "演示机"}).start()
    print(demo_console(backend), flush=True)
    from kiosk.staff import hash_pin

    text = demo_kiosk_config(backend.url, backend.tls.ca_file, backend.token_file, folder / "kiosk-data")
    text += f'\n[reader]\nname_filter = "{DEMO_READER}"\npsam_filter = "{DEMO_PSAM_READER}"\n[staff]\n' + "".join(
        f'{role}_pin_hash = "{hash_pin(pin)}"\n' for role, pin in DEMO_STAFF_PINS.items()
    )
    config_path = folder / "kiosk.toml"
    config_path.write_text(text, encoding="utf-8")  # the staff panel and the wizard write it back
    config = from_text(text, config_path)
    emulator = CardEmulator(Person.load(DEMO_PERSON))
    security_module = PsamEmulator()  # the terminal's PSAM, for the third-generation sample card
    security_module.insert()
    persons = {path.stem: path for path in sorted((ASSETS / "persons").glob("*.json"))}

    def insert(path: Path) -> Callable[[], None]:
        def put_in() -> None:
            emulator.person = Person.load(path)
            emulator.insert()

        return put_in

    try:
        from ui.app import DemoControls, run

        controls = DemoControls(cards={name: insert(path) for name, path in persons.items()}, remove=emulator.remove,
                                staff_pins=DEMO_STAFF_PINS)  # fmt: skip
        return run(config, devices(), windowed=args.windowed, demo=controls, exit_after_s=args.exit_after)
    finally:
        emulator.remove()
        security_module.remove()
        backend.stop()
        pcscd.stop()


# ---------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ss-kiosk", description="Social security self-service kiosk.")
    parser.add_argument("--version", action="version", version=f"ss-kiosk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr (personal data masked)")
    sub = parser.add_subparsers(dest="command", required=True)

    read = sub.add_parser("read-card", help="read the social security card in a reader once")
    read.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    read.add_argument("--reveal", action="store_true", help="show personal fields in clear")
    read.add_argument("--reader", help="substring of the reader name (default: the config's, or the first reader)")
    read.add_argument("--psam", help="substring of the PSAM reader's name (third-generation cards; default: the "
                                     "config's)")  # fmt: skip
    read.add_argument("--config", type=Path, help="take the reader names from this kiosk config")
    read.add_argument("--pin", help="check the card PIN (6 digits; '-' reads it from standard input)")
    read.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a card (default 30)")
    read.set_defaults(func=cmd_read_card)

    emulate = sub.add_parser(
        "emulate-card",
        help="play a social security card in the vpcd virtual reader",
        epilog=EMULATOR_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    emulate.add_argument("--person", required=True, type=Path, help="person JSON file (see assets/persons)")
    emulate.add_argument("--port", type=int, default=35963, help="vpcd port (35963: 'Virtual PCD 00 00')")
    emulate.add_argument("--host", default="127.0.0.1")
    emulate.add_argument("--fault", action="append", help="answer with a fault; see hardware/emulator.py FAULTS")
    emulate.add_argument("--removed", action="store_true", help="start with the card out of the reader")
    emulate.set_defaults(func=cmd_emulate_card)

    backend = sub.add_parser("demo-backend", help="the reference backend (API v1) on loopback HTTPS")
    backend.add_argument("--port", type=int, default=8443)
    backend.add_argument("--notices", type=Path, help="a notices data set (default: assets/notices/sample.json)")
    backend.add_argument("--data-dir", type=Path, help="where the CA, token and receipts go (default: a temp dir)")
    backend.set_defaults(func=cmd_demo_backend)

    sync = sub.add_parser("sync", help="one broadcast sync and outbox flush; prints what changed")
    sync.add_argument("--once", action="store_true", required=True, help="run once and exit (the only mode here)")
    sync.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    sync.set_defaults(func=cmd_sync)

    notices = sub.add_parser("notices", help="list the cached broadcast notices, ranked (works offline)")
    notices.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    notices.set_defaults(func=cmd_notices)

    run = sub.add_parser("run", help="the production kiosk, full screen")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    run.add_argument("--windowed", action="store_true", help="a window instead of full screen (for checking)")
    run.set_defaults(func=cmd_run)

    staff = sub.add_parser("staff-pin", help="hash a staff PIN for the config (typed twice)")
    staff.set_defaults(func=cmd_staff_pin)

    doctor = sub.add_parser("doctor", help="check every part of this kiosk; exit 0 only if nothing fails")
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--no-card", action="store_true", help="do not try to read the card in the reader")
    doctor.add_argument("--test-print", action="store_true", help="print a test slip on the receipt printer")
    doctor.set_defaults(func=cmd_doctor)

    pack = sub.add_parser("voice-pack", help="a hall's recorded prompts: the script to record, or check a pack")
    pack.add_argument("action", choices=["export", "check"], help="export: write the script and pack.toml; "
                                                                  "check: one line per problem")  # fmt: skip
    pack.add_argument("folder", type=Path, metavar="DIR")
    pack.add_argument("--language", choices=["zh_CN", "yue", "en"], default="zh_CN", help="export: the pack's language")
    pack.add_argument("--sample-rate", type=int, default=22050, help="export: the rate to record at")
    pack.set_defaults(func=cmd_voice_pack)

    hall = sub.add_parser("hall-server", help="the hall server: API v1 for the kiosks and the staff console")
    hall.add_argument("--config", type=Path, default=Path("/etc/ss-kiosk-hall/hall.toml"))
    hall.set_defaults(func=cmd_hall_server)

    account = sub.add_parser("hall-account", help="add a hall console account or set its password and role")
    account.add_argument("name")
    account.add_argument("--role", choices=["admin", "clerk"], required=True)
    account.add_argument("--config", type=Path, default=Path("/etc/ss-kiosk-hall/hall.toml"))
    account.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    account.set_defaults(func=cmd_hall_account)

    demo = sub.add_parser("demo", help="the kiosk on its embedded default: emulated card and demo backend")
    demo.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    demo.add_argument("--exit-after", type=float, default=0, help=argparse.SUPPRESS)  # for tests and bench
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    one_sentence = args.command in ("read-card", "doctor")  # their answer is the sentence; the log repeats it
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR if one_sentence else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))
