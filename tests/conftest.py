"""Test session set-up: the real pcscd (started only when none answers) reached through a cuttable line."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pcsc_line import PcscLine

ROOT = Path(__file__).resolve().parent.parent
PERSONS = ROOT / "assets" / "persons"
READER = "Virtual PCD 00 00"  # vpcd's first reader, port 35963

# Qt aborts with neither a display nor a platform: the tests render offscreen unless given a screen.
if not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

# Before anything loads pcsc-lite: every PC/SC client of this session, in-process and in
# subprocesses, reaches pcscd through the line, so that a test can cut the service off.
_line_dir = Path(tempfile.mkdtemp(prefix="ss-kiosk-pcsc-"))
PCSC_LINE = PcscLine(_line_dir / "pcscd.comm")
PCSC_LINE.restore()
atexit.register(PCSC_LINE.cut)
os.environ["PCSCLITE_CSOCK_NAME"] = str(PCSC_LINE.path)


def person_file(name: str) -> Path:
    return PERSONS / f"{name}.json"


def person_fields(name: str) -> dict[str, str]:
    return json.loads(person_file(name).read_text(encoding="utf-8"))["card"]


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from hardware.pcscd import PcscdError, ensure_pcscd, vpcd_readers

    try:
        started = ensure_pcscd(log_file=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    except PcscdError as e:
        pytest.fail(f"no PC/SC service for the card tests: {e}")
    if READER not in vpcd_readers():
        started.stop()
        pytest.fail(f"pcscd answers but has no {READER!r}: restart it after installing vsmartcard-vpcd")
    OUR_PCSCD.append(started)
    yield
    OUR_PCSCD.pop().stop()


OUR_PCSCD: list[object] = []  # the pcscd this session started (a StartedPcscd), which a fault test may kill


def kill_and_restart_pcscd(down_s: float) -> bool:
    """SIGKILL the pcscd this test session started, leave the service gone for `down_s`, start a new one.
    False when the session uses a pcscd it did not start (a developer's own): that one is not ours to kill."""
    import time

    from hardware.pcscd import ensure_pcscd

    started = OUR_PCSCD[-1] if OUR_PCSCD else None
    if started is None or started.process is None:
        return False
    started.process.kill()
    started.process.wait(5)
    time.sleep(down_s)
    OUR_PCSCD[-1] = ensure_pcscd()
    return True


@pytest.fixture
def pcsc_line(pcscd: None) -> Iterator[PcscLine]:
    """The line to pcscd; restored after the test whatever the test did to it."""
    yield PCSC_LINE
    if not PCSC_LINE.up:
        PCSC_LINE.restore()


@pytest.fixture
def card_slot(pcscd: None) -> Iterator[Callable[..., object]]:
    """`insert(person_name, faults=[...], **changes)` puts an emulated card in READER; removed after the test.
    `changes` set the Person's own counters (tries_left, rk_tries_left)."""
    from hardware.emulator import CardEmulator, Person

    emulators: list[CardEmulator] = []

    def insert(name: str, faults: list[str] | None = None, **changes: int) -> CardEmulator:
        person = Person.load(person_file(name))
        person.faults += faults or []
        Person.check_faults(person.faults, name)  # a misspelt fault would test nothing
        for counter, value in changes.items():
            assert counter in ("tries_left", "rk_tries_left"), counter
            setattr(person, counter, value)
        for previous in emulators:  # one slot: the card in it comes out first
            previous.remove()
        emulator = CardEmulator(person)
        emulator.insert()
        emulators.append(emulator)
        return emulator

    yield insert
    for emulator in emulators:
        emulator.remove()
    wait_reader_empty()


PSAM_READER = "Virtual PCD 00 01"  # vpcd's second reader, port 35964: the terminal's PSAM slot


@pytest.fixture
def psam_slot(pcscd: None) -> Iterator[object]:
    """An emulated PSAM in PSAM_READER (`.faults` for the next insert, `.insert()`, `.remove()`); out after the test."""
    from hardware.emulator import PsamEmulator

    emulator = PsamEmulator()
    emulator.insert()
    wait_reader_present(reader=PSAM_READER)
    yield emulator
    emulator.remove()
    wait_reader_empty(reader=PSAM_READER)


def wait_reader_empty(timeout_ms: int = 3000, reader: str = READER) -> None:
    """Until pcscd has seen the card leave (it polls vpcd), so the next test starts with an empty slot."""
    _wait_reader(False, timeout_ms, reader)


def wait_reader_present(timeout_ms: int = 3000, reader: str = READER) -> None:
    """Until pcscd has seen a card in `reader` (it polls vpcd): what a new process connecting to it will find."""
    _wait_reader(True, timeout_ms, reader)


def _wait_reader(present: bool, timeout_ms: int, reader: str) -> None:
    from smartcard import scard as pc

    hresult, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    if hresult != pc.SCARD_S_SUCCESS:
        return
    try:
        state = pc.SCARD_STATE_UNAWARE
        for _ in range(10):
            hresult, states = pc.SCardGetStatusChange(context, timeout_ms, [(reader, state)])
            if hresult != pc.SCARD_S_SUCCESS or bool(states[0][1] & pc.SCARD_STATE_PRESENT) is present:
                return
            state = states[0][1]
    finally:
        pc.SCardReleaseContext(context)


# -- the reference backend on loopback TLS ---------------------------------------------------------
@pytest.fixture
def backend(tmp_path: Path) -> Iterator[object]:
    from kiosk.hall.server import HallServer

    folder = tmp_path / "backend"
    folder.mkdir()
    server = HallServer(folder, port=0).start()
    yield server
    server.stop()


def kiosk_toml(backend: object, data_dir: Path, extra: str = "", ca: Path | None = None) -> str:
    """A kiosk config (TOML) for the test backend and the emulated card's reader."""
    from kiosk.cli import demo_kiosk_config

    text = demo_kiosk_config(backend.url, ca or backend.tls.ca_file, backend.token_file, data_dir)
    return text + f'\n[reader]\nname_filter = "{READER}"\n' + extra


@pytest.fixture(autouse=True, scope="session")
def garbage_on_the_gui_thread() -> Iterator[None]:
    """As in the kiosk (ui.app.run): cyclic garbage is collected on the GUI thread only, or a Qt object of an
    earlier test's kiosk can be freed on a card or sync thread and crash the test process."""
    from PySide6.QtWidgets import QApplication

    from ui.app import GarbageOnGuiThread

    app = QApplication.instance() or QApplication([])
    collector = GarbageOnGuiThread()
    yield
    del collector, app


@pytest.fixture(autouse=True)
def collect_after_each_test(garbage_on_the_gui_thread: None) -> Iterator[None]:
    """Between tests no event loop may spin for a while: collect here, on the test's (the GUI) thread."""
    import gc

    yield
    gc.collect()


@contextlib.contextmanager
def running_kiosk(config: object, player: list[str] | None = None, hear_clips: bool = False) -> Iterator[object]:
    """The whole kiosk in a real 1920×1080 window, started and stopped around the test. `hear_clips`: the voice's
    process hands each clip's WAV and words back with it (speech.on_audio), for the test to measure."""
    import dataclasses

    from hardware.speech_process import SpeechProcess
    from kiosk.cli import devices
    from ui.app import KioskApp

    chosen = devices()
    if hear_clips:
        chosen = dataclasses.replace(chosen, speech=lambda **options: SpeechProcess(**options, wav=True))
    app = KioskApp(config, chosen, player=player)
    app.window.resize(1920, 1080)
    app.window.show()
    app.start()
    try:
        yield app
    finally:
        app.stop()
        app.window.close()


@pytest.fixture
def kiosks_made(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Weak references to each KioskApp that ui.app.run makes (one more after each in-process restart)."""
    import weakref

    from ui import app as ui_app

    made: list[weakref.ref] = []

    class Recorded(ui_app.KioskApp):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(weakref.ref(self))

    monkeypatch.setattr(ui_app, "KioskApp", Recorded)
    return made


@pytest.fixture
def settings(backend: object) -> object:
    from kiosk.sync import BackendSettings

    return BackendSettings(
        url=backend.url, ca_file=str(backend.tls.ca_file), token=backend.token, kiosk_id="test-kiosk"
    )


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[object, object]]:
    from kiosk.cache import BroadcastCache
    from kiosk.outbox import Outbox

    data = tmp_path / "kiosk-data"
    cache = BroadcastCache(data / "broadcast.sqlite3")
    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    yield cache, outbox
    cache.close()
    outbox.close()


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> object:
    """deploy/bundle of this tree, built once a session: tests/test_bundle.py reads it, the boot test installs it."""
    from tests.deploy.terminal import built_bundle

    return built_bundle(tmp_path_factory.mktemp("bundle"))
