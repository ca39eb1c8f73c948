"""UI timings: cold start beside a bare PySide6 window; card present → screen painted beside a raw pyscard read;
personal notices after the greeting; the longest GUI event-loop stall during the kiosk's first sync and during
sessions; the peak resident memory; a tap on 打印 → the slip's first byte at the printer beside a raw socket, and
the GUI's longest stall while it prints.

Real pcscd with the emulated card and the reference backend on loopback HTTPS (each its own process), the real
window on the offscreen platform (or a screen if DISPLAY is set).
Usage: python bench/ui.py [--inserts 20] [--starts 7] [--notices 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from smartcard import scard as pc  # noqa: E402

from bench import EventLoopStalls, Row, cpu_seconds, ms, peak_mb, pss_mb, report, stall_row, stats  # noqa: E402
from bench.card_read import EmulatedCard, raw_read, raw_wait_present  # noqa: E402
from bench.slow import add_option, confine  # noqa: E402
from bench.sync import notices_file, start_backend  # noqa: E402
from hardware.pcscd import ensure_pcscd  # noqa: E402
from kiosk.cli import devices  # noqa: E402
from kiosk.config import from_text  # noqa: E402
from kiosk.hall.api import SAMPLE  # noqa: E402
from kiosk.session import Screen  # noqa: E402
from ui.app import GarbageOnGuiThread, KioskApp  # noqa: E402

READER = "Virtual PCD 00 00"

BARE = """
import resource, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv)
class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True); app.exit()
        return False
window = QWidget(); window.resize(1920, 1080)
window.installEventFilter(Painted(window)); window.show(); app.exec()
"""

OURS = """
import resource, sys, time
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication
from kiosk.cli import devices
from kiosk.config import from_text
from kiosk.session import Screen
from ui.app import KioskApp
from ui.input_method import enable_virtual_keyboard
enable_virtual_keyboard()  # as ui.app.run() does: the wizard's keyboard is the input method from the start
app = QApplication(sys.argv)
kiosk = KioskApp(from_text(sys.argv[1]), devices())
class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and kiosk.window.view.screen == Screen.ATTRACT and kiosk.window.rendered:
            print(time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True); app.exit()
        return False
kiosk.window.resize(1920, 1080)
kiosk.window.pages.installEventFilter(Painted(kiosk.window))
kiosk.window.bridge.first_painted.connect(kiosk.start, Qt.ConnectionType.QueuedConnection)
kiosk.window.show(); app.exec(); kiosk.stop()
"""


def cold_start(script: str, *args: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from launch to the first paint, and the peak resident MB then, over `runs` fresh processes.

    From bytecode, ours and bare alike, as an installed kiosk starts (pip byte-compiles what it installs):
    a first, untimed start writes it to a cache of this run's own.
    """
    bytecode = tempfile.mkdtemp(prefix="ss-kiosk-bench-pycache-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": bytecode}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    seconds, peak_mb = [], []
    for n in range(runs + 1):
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT,
                              timeout=60, env=env, check=True)  # fmt: skip
        painted_at, peak_kb = done.stdout.split()[:2]
        if n:
            seconds.append(float(painted_at) - start)
            peak_mb.append(int(peak_kb) / 1024)
    return seconds, peak_mb


class Paints(QObject):
    """Times of the paints of the window's pages, with the view each one showed."""

    def __init__(self, kiosk: object) -> None:
        super().__init__()
        self.kiosk = kiosk
        self.painted: list[tuple[float, object]] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted.append((time.monotonic(), self.kiosk.window.view))  # type: ignore[attr-defined]
        return False


def in_background(action: Callable[[], object]) -> threading.Thread:
    """The emulator's insert waits for pcscd's poll: keep that wait off the GUI thread being measured."""
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def wait(app: QApplication, condition: Callable[[], object], timeout: float = 20.0) -> None:
    """The event loop runs, as the kiosk's app.exec() runs it, until `condition` holds (looked at every 2 ms).

    Not processEvents() and a 1 ms sleep in a loop: on a slowed core that polling took a tenth of the kiosk's
    time, and every stall it measured was "in the bench's sleep"."""
    deadline = time.monotonic() + timeout
    late = False
    loop, looking = QEventLoop(), QTimer()

    def look() -> None:
        nonlocal late
        late = time.monotonic() > deadline
        if late or condition():
            loop.quit()

    looking.timeout.connect(look)
    looking.start(2)
    if not condition():
        loop.exec()
    looking.stop()
    if late:
        raise TimeoutError("the kiosk did not get there in time")


@dataclass
class Sessions:
    """What sessions() saw, in seconds and MB."""

    greeting: list[float] = field(default_factory=list)  # PC/SC present → greeting painted
    personal: list[float] = field(default_factory=list)  # greeting → personal notices painted
    detection: list[float] = field(default_factory=list)  # insert → the kiosk's reader saw the card
    raw_read: list[float] = field(default_factory=list)  # PC/SC present → raw pyscard read done
    raw_detection: list[float] = field(default_factory=list)  # insert → the raw script saw the card
    stall: float = 0.0  # the longest GUI event-loop stall over all sessions
    stall_where: str = ""  # what the GUI thread ran in it, if over EventLoopStalls.LOOK_AFTER_S
    peak_mb: float = 0.0  # the process's peak resident memory after the sessions
    network_mb: float = 0.0  # the network worker's, and the voice's (their own processes, issue 30)
    voice_mb: float = 0.0
    together_mb: float = 0.0  # the three processes' proportional set size: shared pages counted once


@dataclass
class FirstSync:
    stall: float  # the longest GUI event-loop stall from the kiosk's start to the headlines painted
    where: str  # what the GUI thread ran in it
    worker_cpu_ms: float  # the network worker's processor time from its start to then
    worker_mb: float  # its peak resident memory


@dataclass
class Printing:
    """What printing() saw, in seconds and dots."""

    first_byte: list[float] = field(default_factory=list)  # tap on 打印 → the slip's first byte at the printer
    raw_first_byte: list[float] = field(default_factory=list)  # connect and send the same bytes → first byte
    printed: list[float] = field(default_factory=list)  # tap → 打印好了 on screen (the printer said through)
    stall: float = 0.0  # the longest GUI event-loop stall from the tap to 打印好了
    stall_where: str = ""
    slip_dots: int = 0  # the slip's length on the paper


@contextlib.contextmanager
def running_kiosk(notices: Path, extra: str = "") -> Iterator[tuple[KioskApp, Paints, EventLoopStalls]]:
    """The kiosk's window shown and painted, then started (devices, first sync) on a reference backend of its
    own serving `notices`. Stalls are counted from just after start(): the devices' start-up, once at boot,
    is not what they measure."""
    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-bench-ui-"))
    process, _ = start_backend(folder, notices)
    text = (folder / "backend" / "kiosk.toml").read_text()
    config = from_text(text + f'\n[reader]\nname_filter = "{READER}"\n[session]\nrequire_pin = false\n{extra}')
    garbage = GarbageOnGuiThread()  # as ui.app.run() has it: cyclic garbage collected on the GUI thread only
    kiosk = KioskApp(config, devices())
    kiosk.window.resize(1920, 1080)
    paints = Paints(kiosk)
    kiosk.window.pages.installEventFilter(paints)
    kiosk.window.show()
    stalls = EventLoopStalls(attribute=True, showing=lambda: kiosk.window.view.screen.value)
    try:
        wait(app, lambda: kiosk.window.view.screen == Screen.ATTRACT and paints.painted)
        kiosk.start()
        stalls.reset()
        yield kiosk, paints, stalls
    finally:
        kiosk.stop()
        kiosk.window.close()
        stalls.stop()
        garbage.timer.stop()
        process.terminate()
        process.wait()


def settle(app: QApplication, seconds: float = 0.3) -> None:
    until = time.monotonic() + seconds
    wait(app, lambda: time.monotonic() > until)


def first_sync(notices: int) -> FirstSync:
    """The longest GUI event-loop stall from the kiosk's start until its first sync of `notices` is on screen,
    what the GUI thread ran in it, and what the network worker's process used for that sync."""
    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-bench-ui-"))
    with running_kiosk(notices_file(folder, notices)) as (kiosk, _, stalls):
        wait(app, lambda: len(kiosk.window.view.headlines) > 0)
        settle(app)  # the headlines painted
        worker = kiosk.network.worker.pid  # type: ignore[union-attr]
        used_ms = 1000 * cpu_seconds([worker] if worker else [])
        return FirstSync(stalls.longest, stalls.longest_where, used_ms, peak_mb(worker))


def sessions(inserts: int) -> Sessions:
    """`inserts` card sessions in the kiosk on the sample notices, then the same inserts read by a raw pyscard
    script."""
    app = QApplication.instance() or QApplication(sys.argv)
    card = EmulatedCard()
    seen = Sessions()
    with running_kiosk(SAMPLE) as (kiosk, paints, stalls):
        wait(app, lambda: len(kiosk.window.view.headlines) > 0)
        settle(app)  # the start-up renders are not a session
        stalls.reset()
        for _ in range(inserts):
            paints.painted.clear()
            inserted: list[float] = []
            inserting = in_background(lambda: inserted.append(card.insert()))  # noqa: B023 (waited for below)
            wait(app, lambda: any(v.screen == Screen.NOTICES and not v.personal_loading for _, v in paints.painted))
            wait(app, lambda: not inserting.is_alive())  # noqa: B023 (a join here would stall the loop measured)
            card_seen = kiosk.reader.card_seen_at  # type: ignore[union-attr]
            greeting = next(t for t, v in paints.painted if v.screen == Screen.NOTICES)
            personal = next(t for t, v in paints.painted if v.screen == Screen.NOTICES and not v.personal_loading)
            seen.greeting.append(greeting - card_seen)
            seen.personal.append(personal - greeting)
            seen.detection.append(card_seen - inserted[0])
            removing = in_background(card.remove)
            wait(app, lambda: not removing.is_alive() and kiosk.window.view.screen == Screen.ATTRACT)  # noqa: B023
        seen.stall, seen.stall_where = stalls.longest, stalls.longest_where
        seen.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        seen.network_mb = peak_mb(kiosk.network.worker.pid)  # type: ignore[union-attr]
        voice = kiosk.speech.worker.pid if kiosk.speech else None  # type: ignore[attr-defined]
        seen.voice_mb = peak_mb(voice)
        seen.together_mb = sum(map(pss_mb, (os.getpid(), kiosk.network.worker.pid, voice)))  # type: ignore[union-attr]
    _, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    for _ in range(inserts):
        inserted_at = card.insert()
        card_seen = raw_wait_present(context, READER, True)
        raw_read(context, READER)
        seen.raw_read.append(time.monotonic() - card_seen)
        seen.raw_detection.append(card_seen - inserted_at)
        card.remove()
        raw_wait_present(context, READER, False)
    pc.SCardReleaseContext(context)
    card.close()
    return seen


def printing(prints: int) -> Printing:
    """`prints` citizens each open the most urgent notice and tap 打印, the emulated 80 mm printer on a TCP port
    (it prints at once: the time measured is the kiosk's); then the same slip's bytes sent by a raw socket."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QAbstractButton

    from hardware.escpos import PAPER_CELLS, slip_bytes
    from hardware.printer_emulator import PrinterEmulator, height_of
    from kiosk.slip import lines
    from ui.widgets import TapCard

    app = QApplication.instance() or QApplication(sys.argv)
    card, printer, seen = EmulatedCard(), PrinterEmulator(), Printing()
    extra = f'[printer]\nkind = "escpos-network"\ndevice = "{printer.address}"\n'
    notice = None
    with running_kiosk(SAMPLE, extra) as (kiosk, _, stalls):
        wait(app, lambda: len(kiosk.window.view.headlines) > 0 and kiosk.printer_state.state == "ready")
        for _ in range(prints):
            inserting = in_background(card.insert)
            wait(app, lambda: kiosk.window.view.screen == Screen.NOTICES and not kiosk.window.view.personal_loading)
            wait(app, lambda: not inserting.is_alive())  # noqa: B023 (a join here would stall the loop measured)
            cards = [c for c in kiosk.window.findChildren(TapCard) if c.isVisible()]
            QTest.mouseClick(cards[0], Qt.MouseButton.LeftButton)
            wait(app, lambda: kiosk.window.view.screen == Screen.DETAIL)
            settle(app, 0.2)
            button = next(b for b in kiosk.window.findChildren(QAbstractButton) if b.isVisible() and b.text() == "打印")
            arrived = len(printer.jobs_arrived)
            stalls.reset()
            tapped = time.monotonic()
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
            wait(app, lambda: kiosk.window.view.printing == "printed")
            seen.printed.append(time.monotonic() - tapped)
            seen.first_byte.append(printer.jobs_arrived[arrived] - tapped)
            seen.stall, seen.stall_where = max((seen.stall, seen.stall_where), (stalls.longest, stalls.longest_where))
            notice = kiosk.window.view.detail
            removing = in_background(card.remove)
            wait(app, lambda: not removing.is_alive() and kiosk.window.view.screen == Screen.ATTRACT)  # noqa: B023
    card.close()
    from datetime import datetime

    from kiosk.slip import Place, slip_for

    assert notice is not None
    job = slip_bytes(lines(slip_for(notice, Place("大厅"), "bench", datetime.now()), PAPER_CELLS[80]), 80)
    for _ in range(prints):  # the reference: a plain script that connects and sends the same bytes
        arrived = len(printer.jobs_arrived)
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", printer.port)) as raw:
            raw.sendall(job)
            while len(printer.jobs_arrived) == arrived:
                time.sleep(0.0005)
        seen.raw_first_byte.append(printer.jobs_arrived[arrived] - started)
    seen.slip_dots = max(height_of(paper) for paper in printer.slips)
    printer.close()
    return seen


def measure(inserts: int, starts: int, notices: int, prints: int) -> list[Row]:
    data = tempfile.mkdtemp()
    config = f'[kiosk]\nid = "bench"\ndata_dir = "{data}"\n[backend]\nurl = "https://127.0.0.1:9/api/v1"\n'
    ours_start, _ = cold_start(OURS, config, runs=starts)
    bare_start, bare_mb = cold_start(BARE, runs=starts)
    pcscd = ensure_pcscd()
    try:
        seen = sessions(inserts)
        synced = first_sync(notices)
        printed = printing(prints)
    finally:
        pcscd.stop()
    (sm, sp), (bm, bp) = ms(ours_start), ms(bare_start)
    (gm, gp), (rm, rp) = ms(seen.greeting), ms(seen.raw_read)
    (dm, dp), (rdm, rdp) = ms(seen.detection), ms(seen.raw_detection)
    pm, pp = ms(seen.personal)
    mm, mp = stats(bare_mb)
    (fm, fp), (rfm, rfp), (tm, tp) = ms(printed.first_byte), ms(printed.raw_first_byte), ms(printed.printed)
    slip_mm = printed.slip_dots / 8  # 203 dpi: 8 dots a millimetre
    return [
        Row("ui.cold_start", "cold start → attract painted", sm, sp, bm, bp, "bare PySide6 window",
            "≤ 1500 ms and ≤ 2 × bare, median", sm <= 1500 and sm <= 2 * bm),
        Row("ui.greeting", "PC/SC present → greeting painted", gm, gp, rm, rp, "raw pyscard read",
            "≤ 100 ms median", gm <= 100),
        Row("ui.detection", "insert → PC/SC reports present (pcscd's poll)", dm, dp, rdm, rdp,
            "raw pyscard script", "not ours"),
        Row("ui.personal", "greeting → personal notices painted", pm, pp, budget="≤ 500 ms median", passed=pm <= 500),
        stall_row("ui.session_stall", "longest GUI event-loop stall during sessions"
                  + (f" (the GUI thread: {seen.stall_where})" if seen.stall_where else ""), seen.stall),
        stall_row("ui.sync_stall", f"longest GUI event-loop stall during the first sync of {notices:,} notices"
                  + (f" (the GUI thread: {synced.where})" if synced.where else ""), synced.stall),
        Row("ui.memory", f"peak resident memory after {inserts} sessions (the window's process)", seen.peak_mb, None,
            mm, mp, "bare PySide6 window", "≤ 200 MB and ≤ 1.5 × bare", seen.peak_mb <= min(200, 1.5 * mm), "MB"),
        Row("ui.network_memory", f"the network worker's peak resident memory, after {inserts} sessions",
            seen.network_mb, unit="MB"),
        Row("ui.voice_memory", f"the voice's process's peak resident memory, after {inserts} sessions",
            seen.voice_mb, unit="MB"),
        Row("ui.together_memory", f"the window's, the network's and the voice's processes together (Pss), after "
            f"{inserts} sessions", seen.together_mb, unit="MB"),
        Row("ui.network_sync_memory", f"the network worker's peak resident memory, first sync of {notices:,}",
            synced.worker_mb, unit="MB"),
        Row("ui.network_sync_cpu", f"the network worker's processor time, start and first sync of {notices:,}",
            synced.worker_cpu_ms),
        Row("ui.print_first_byte", "tap on 打印 → the slip's first byte at the printer (ESC/POS on TCP 9100)", fm, fp,
            rfm, rfp, "raw socket: connect, send the same bytes", "≤ 100 ms median", fm <= 100),
        Row("ui.print_done", "tap on 打印 → 打印好了 on screen (the emulated printer prints at once)", tm, tp),
        stall_row("ui.print_stall", "longest GUI event-loop stall from the tap on 打印 to 打印好了"
                  + (f" (the GUI thread: {printed.stall_where})" if printed.stall_where else ""), printed.stall),
        Row("ui.print_paper", f"the printer's own time for this slip ({slip_mm:.0f} mm) at 200 mm/s: not ours",
            slip_mm / 200 * 1000),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inserts", type=int, default=20)
    parser.add_argument("--starts", type=int, default=7, help="cold starts of each window")
    parser.add_argument(
        "--notices",
        type=int,
        default=10_000,
        help="notices in the first sync whose stall is measured; sessions: the sample",
    )
    parser.add_argument("--prints", type=int, default=10, help="citizens who tap 打印 on the most urgent notice")
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line (for bench/run)")
    add_option(parser)
    args = parser.parse_args()
    slowed = confine(args.slow)  # before anything is started: all of it runs on the slow terminal
    rows = measure(args.inserts, args.starts, args.notices, args.prints)
    title = f"ui, {args.inserts} sessions, {args.starts} cold starts each (platform {QApplication.platformName()})"
    title += f", {slowed}" if slowed else ""
    note = "(ms; greeting with session.require_pin off; the sessions' process holds the kiosk and this bench)"
    return report(rows, title, note, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
