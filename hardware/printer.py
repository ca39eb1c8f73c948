"""The hall's receipt printer on its own thread: a slip never waits on the GUI thread, nor the GUI on a slip.

A printer is reached through a link (a TCP socket to port 9100, or the device file of a USB or serial printer) that
writes a job and answers the real-time status queries (DLE EOT). Before a slip the printer is asked how it is; after
it, asked again: a slip cut off by a fault (paper out, cover open, cutter jam) is printed again from the start once,
when the fault is cleared, never twice.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hardware import escpos
from kiosk.config import printer_address
from kiosk.events import PrinterChanged, SlipPrinted
from kiosk.slip import CAN_PRINT, TEST_SLIP, Slip, lines

log = logging.getLogger(__name__)

STATUS_WAIT_S = 1.0  # a printer answers DLE EOT within milliseconds; one that does not in a second is not there
JOB_WAIT_S = 10.0  # writing a job: a printer mid-slip takes bytes as fast as it prints (a slip is a few seconds)
LOOK_DURING_JOB_S = 0.5  # while a slip prints, how often the printer is asked whether a fault stopped it
LOOK_EVERY_S = 30.0  # how often an idle kiosk asks its printer how it is (staff see paper out before a citizen)


class PrinterGone(Exception):
    """The printer did not answer or the link broke: unplugged, switched off, a wrong address or device."""


class Link(Protocol):
    """How the kiosk reaches its printer; opened for each job or look, closed after."""

    def write(self, data: bytes) -> None: ...

    def read_byte(self, timeout_s: float) -> int | None:
        """The next byte the printer sent, or None if none came in `timeout_s`; PrinterGone if the link broke."""
        ...

    def close(self) -> None: ...


class NetworkLink:
    """A network printer's raw port (JetDirect, 9100)."""

    def __init__(self, host: str, port: int = 9100) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=STATUS_WAIT_S)
        except OSError as e:
            raise PrinterGone(f"connect {host}:{port}: {e.strerror or e}") from None

    def write(self, data: bytes) -> None:
        self._sock.settimeout(JOB_WAIT_S)
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise PrinterGone(f"send: {e.strerror or e}") from None

    def read_byte(self, timeout_s: float) -> int | None:
        self._sock.settimeout(max(timeout_s, 0.001))
        try:
            data = self._sock.recv(1)
        except TimeoutError:
            return None
        except OSError as e:
            raise PrinterGone(f"receive: {e.strerror or e}") from None
        if not data:
            raise PrinterGone("the printer closed the connection")
        return data[0]

    def close(self) -> None:
        self._sock.close()


class DeviceLink:
    """A USB printer's /dev/usb/lp0 (the usblp driver) or a serial printer's /dev/ttyS0 (set to raw by the unit)."""

    def __init__(self, path: str) -> None:
        try:
            # Not blocking: usblp blocks a write while the paper is out, which would hold this thread for ever.
            self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as e:
            busy = " (another program has it open: the running kiosk?)" if e.errno == errno.EBUSY else ""
            raise PrinterGone(f"open {path}: {e.strerror}{busy}") from None

    def write(self, data: bytes) -> None:
        view, deadline = memoryview(data), time.monotonic() + JOB_WAIT_S
        try:
            while view:
                _, ready, _ = select.select([], [self._fd], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise PrinterGone(f"the printer took no bytes for {JOB_WAIT_S:.0f} s")
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(self._fd, view) :]
        except OSError as e:
            raise PrinterGone(f"write: {e.strerror}") from None

    def read_byte(self, timeout_s: float) -> int | None:
        try:
            ready, _, _ = select.select([self._fd], [], [], max(timeout_s, 0.0))
            data = os.read(self._fd, 1) if ready else None
        except OSError as e:
            raise PrinterGone(f"read: {e.strerror}") from None
        if data == b"":
            raise PrinterGone("the device closed")
        return data[0] if data else None

    def close(self) -> None:
        os.close(self._fd)


def link_to(kind: str, device: str) -> Callable[[], Link]:
    """The opener of an ESC/POS printer's link ([printer] kind and device)."""
    if kind == "escpos-network":
        host, port = printer_address(device)  # checked with the config: a typo never reaches the thread
        return lambda: NetworkLink(host, port)
    return lambda: DeviceLink(device)


def ask_state(link: Link, other: Callable[[int], None] = lambda byte: None) -> str:
    """The printer's state from DLE EOT 1–4. Other bytes (GS r 1's answer to a job) go to `other`."""
    answers = {}
    for n in escpos.STATUS_QUERIES:
        link.write(escpos.real_time_status(n))
        deadline = time.monotonic() + STATUS_WAIT_S
        while n not in answers:
            byte = link.read_byte(deadline - time.monotonic())
            if byte is None:
                raise PrinterGone(f"no answer to DLE EOT {n}")
            if escpos.is_status_byte(byte):
                answers[n] = byte
            else:
                other(byte)
    return escpos.state_of(answers)


class Driver(Protocol):
    """One kind of printer as the printer thread drives it; neither call raises: a fault is a state."""

    wait_s: float  # the longest a job may take to come out before it counts as stuck

    def state(self) -> PrinterChanged:
        """How the printer is now."""
        ...

    def send(self, slips: tuple[Slip, ...]) -> Sent:
        """Print `slips` one after the other; how many came out whole, and the state then."""
        ...


@dataclass(frozen=True)
class Sent:
    """What became of a job: `through` of its slips came out whole; the state after (the fault that stopped the
    next one). `resumable`: the rest is surely not printing, so it may be printed again from its start (an
    ESC/POS printer's buffer is cleared; a CUPS job the kiosk had to cancel might still come out)."""

    after: PrinterChanged
    through: int
    resumable: bool = True


class EscposDriver:
    """An ESC/POS receipt printer on a link: status by DLE EOT, the job confirmed by GS r 1."""

    wait_s = JOB_WAIT_S

    def __init__(self, connect: Callable[[], Link], paper_mm: int = 80) -> None:
        self._connect, self._paper_mm = connect, paper_mm

    def state(self) -> PrinterChanged:
        try:
            link = self._connect()
        except PrinterGone as e:
            return PrinterChanged("absent", str(e))
        try:
            return PrinterChanged(ask_state(link))
        except PrinterGone as e:
            return PrinterChanged("absent", str(e))
        finally:
            link.close()

    def send(self, slips: tuple[Slip, ...]) -> Sent:
        width = escpos.PAPER_CELLS[self._paper_mm]
        try:
            link = self._connect()
        except PrinterGone as e:
            return Sent(PrinterChanged("absent", str(e)), 0)
        through = 0
        try:
            for slip in slips:  # each confirmed before the next: a fault reprints only what did not come out
                link.write(escpos.slip_bytes(lines(slip, width), self._paper_mm) + escpos.PRINTED_THROUGH)
                state = self._wait_printed(link)
                if state not in CAN_PRINT:  # cut off: what is left of it is dropped before anyone changes the roll
                    link.write(escpos.CLEAR_BUFFER)
                    ask_state(link)  # answered after the clear: the rest of the job is gone
                    return Sent(PrinterChanged(state), through)
                through += 1
            return Sent(PrinterChanged(state), through)
        except PrinterGone as e:
            return Sent(PrinterChanged("absent", str(e)), through)
        finally:
            link.close()

    def _wait_printed(self, link: Link) -> str:
        """The state once the job is through (GS r 1 answered), or the fault that stopped it half-way."""
        through: list[int] = []
        deadline = time.monotonic() + JOB_WAIT_S
        while True:
            byte = link.read_byte(min(LOOK_DURING_JOB_S, deadline - time.monotonic()))
            if byte is not None and escpos.is_printed_through(byte):
                return escpos.paper_state(byte)
            if byte is not None:
                continue  # a late answer to a status query
            state = ask_state(link, other=through.append)  # real-time: answered even while the job is stuck
            if through:
                return escpos.paper_state(through[0])
            if state not in CAN_PRINT:
                return state
            if time.monotonic() >= deadline:
                return "offline"  # neither through nor at fault: stuck


def driver_for(kind: str, device: str, paper_mm: int = 80) -> Driver:
    """The driver of the configured printer ([printer] kind, device, paper_mm)."""
    if kind == "cups":
        from hardware.cups import CupsDriver

        return CupsDriver(device)
    return EscposDriver(link_to(kind, device), paper_mm)


@dataclass
class _Job:
    job: str
    slips: tuple[Slip, ...]  # printed one after the other in one job, each cut off the roll


class PrinterThread(threading.Thread):
    """Prints slips and looks at the printer on a thread of its own; tells the kiosk through `on_event`."""

    def __init__(self, on_event: Callable[[PrinterChanged | SlipPrinted], None], driver: Driver) -> None:
        super().__init__(name="printer", daemon=True)
        self._on_event = on_event
        self._driver = driver
        self._stopping = threading.Event()
        self._jobs: queue.Queue[_Job | str | None] = queue.Queue()
        self._state: PrinterChanged | None = None
        self._cut_off: _Job | None = None  # a job a fault cut off, waiting for its one reprint

    def print_slips(self, job: str, slips: tuple[Slip, ...]) -> None:
        self._jobs.put(_Job(job, slips))

    def look_now(self) -> None:
        """Ask the printer how it is now (staff cleared a fault; the staff panel opened), not at the next look."""
        self._jobs.put("look")

    def stop(self) -> None:
        """No job after this one; waited for briefly (the kiosk stops under a watchdog), a job under way ends by
        itself (the thread is a daemon: it goes with the process)."""
        self._stopping.set()
        self._jobs.put(None)
        self.join(timeout=2 * STATUS_WAIT_S)

    def run(self) -> None:
        job: _Job | str | None = "look"
        while job is not None and not self._stopping.is_set():
            self._do(job)
            try:
                job = self._jobs.get(timeout=LOOK_EVERY_S)
            except queue.Empty:
                job = "look"

    def _do(self, job: _Job | str) -> None:
        try:
            if isinstance(job, _Job):
                self._print(job)
            else:
                self._look()
        except Exception as e:  # a driver's surprise: the printer is out of use, the thread lives on
            log.exception("printer: %s failed", "a job" if isinstance(job, _Job) else "a look")
            self._tell_state(PrinterChanged("absent", f"{type(e).__name__}: {e}"))
            if isinstance(job, _Job):
                self._emit(SlipPrinted(job.job, ok=False, state="absent"))

    def _look(self) -> None:
        now = self._driver.state()
        if now.state in CAN_PRINT and self._cut_off is not None:
            job, self._cut_off = self._cut_off, None
            self._send(job, again=True)
        else:
            self._tell_state(now)

    def _print(self, job: _Job) -> None:
        now = self._driver.state()
        if now.state not in CAN_PRINT:
            self._tell_state(now)
            self._emit(SlipPrinted(job.job, ok=False, state=now.state))
            return
        self._send(job, again=False)

    def _send(self, job: _Job, again: bool) -> None:
        sent = self._driver.send(job.slips)
        self._tell_state(sent.after)
        ok = sent.through == len(job.slips)
        if not ok and not again and sent.resumable:  # what did not come out, from its start once the fault is
            self._cut_off = _Job(job.job, job.slips[sent.through :])  # cleared: once, never twice
        self._emit(SlipPrinted(job.job, ok=ok, state=sent.after.state, again=again))

    def _tell_state(self, changed: PrinterChanged) -> None:
        if changed != self._state:
            self._state = changed
            if changed.state not in CAN_PRINT:
                log.warning("printer %s%s", changed.state, f": {changed.detail}" if changed.detail else "")
            self._emit(changed)

    def _emit(self, event: PrinterChanged | SlipPrinted) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("event handler failed for %s", type(event).__name__)


def print_once(driver: Driver, slip: Slip) -> SlipPrinted:
    """One test slip through the kiosk's own printing path (the wizard's check, doctor --test-print)."""
    printed: queue.Queue[SlipPrinted] = queue.Queue()
    thread = PrinterThread(lambda e: printed.put(e) if isinstance(e, SlipPrinted) else None, driver)
    thread.start()
    thread.print_slips(TEST_SLIP, (slip,))
    try:
        return printed.get(timeout=driver.wait_s + 8 * STATUS_WAIT_S)  # its look, the job, the looks during it
    except queue.Empty:
        return SlipPrinted(TEST_SLIP, ok=False, state="offline")
    finally:
        thread.stop()
