"""Soak: citizen sessions back to back through the real kiosk, and what they leave behind.

Each session: a sample person's card goes in (assets/persons in turn), the PIN is typed on the pad, the notices
come, one is opened and answered (已读 / 稍后提醒 / 不再接收同类 in turn), 办完了, a rating, the card comes out.
The background sync runs every 10 s; the backend changes a broadcast notice every 20 sessions and forgets its
mutes and reminders every 27 (so that every list keeps notices to open).
Figures: exceptions and stuck sessions (0); resident memory after a warm-up and at the end (≤ 5 MB growth);
Qt objects and threads (back where they were); receipts given vs stored by the backend (equal, no duplicate);
personal data in the data dir and the DEBUG log (0 bytes).

The real window on the offscreen platform (or DISPLAY), real pcscd with the emulated card and the reference
backend on loopback HTTPS (each in its own process). Uses pcscd: run it alone, e.g.
    flock /tmp/pcscd.lock .venv/bin/python bench/soak.py --sessions 50
Usage: python bench/soak.py [--sessions 1000] [--warmup 50] [--save]   (--save: docs/soak.json for bench/run)

Why a warm-up of 50: Qt keeps what its style draws in QPixmapCache, and as every page is built afresh nothing
drawn is ever found there again, so the cache fills to its 10 MB limit over the first ~40 sessions, then holds.
The start figures are taken once it is full.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QMessageLogContext, QObject, Qt, QTimer, QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QApplication  # noqa: E402

from bench import EventLoopStalls, Row, ms, report, stall_row  # noqa: E402
from bench.card_read import PSAM_READER, EmulatedCard, EmulatedPsam  # noqa: E402
from bench.slow import add_option, confine, off_the_terminal, soak_file  # noqa: E402
from hardware.pcscd import ensure_pcscd  # noqa: E402
from kiosk.cli import devices  # noqa: E402
from kiosk.config import from_text  # noqa: E402
from kiosk.privacy import personal_data_in  # noqa: E402
from kiosk.session import Screen, View  # noqa: E402
from ui.app import GarbageOnGuiThread, KioskApp  # noqa: E402
from ui.widgets import TapCard  # noqa: E402

READER = "Virtual PCD 00 00"
PERSONS = sorted((ROOT / "assets" / "persons").glob("*.json"))
FEEDBACK = {"已读": "read", "稍后提醒": "remind_later", "不再接收同类": "mute_category"}  # button → receipt action
RATINGS = ("满意", "一般", "不满意")
# A paced stand-in for the sound card, off the terminal: a Python start per prompt where a terminal starts aplay
SINK = [sys.executable, str(ROOT / "tests" / "paced_sink.py")]
SYNC_INTERVAL_S = 10
CHANGE_EVERY, FORGET_EVERY = 20, 27  # sessions
TIMEOUT_S = 10.0  # for each step of a session: pcscd polls every ~0.4 s, the backend is on loopback

# The reference backend in its own process, driven over stdin: one answer line per command.
BACKEND = """
import json, sys
from pathlib import Path
from kiosk.hall.server import HallServer
backend = HallServer(Path(sys.argv[1])).start()
print(json.dumps([backend.url, str(backend.tls.ca_file), str(backend.token_file)]), flush=True)
originals = dict(backend.broadcast)
changes = 0
for line in sys.stdin:
    word = line.strip()
    if word == "change":  # a new version of one broadcast notice; now and then one taken down (or put back)
        changes += 1
        notice_id = sorted(originals)[changes % len(originals)]
        current = backend.broadcast.get(notice_id)
        if current is not None and changes % 4 == 0:
            backend.delete(notice_id)
        else:
            base = current or originals[notice_id]
            body = originals[notice_id]["body"] + f"（第{changes}次更新）"
            backend.publish({**base, "version": base.get("version", 1) + 1, "body": body})
    elif word == "forget":  # the citizens change their minds: mutes and reminders go
        with backend.store.transaction() as db:
            db.execute("DELETE FROM mute")
            db.execute("DELETE FROM snooze")
    elif word == "receipts":
        print(json.dumps(backend.receipts()), flush=True)
        continue
    print("ok", flush=True)
backend.stop()
"""


class Backend:
    """The reference backend process (BACKEND); `command()` from any thread.

    It stands for the hall's server, which is not on the terminal: off the slow terminal's quota (bench/slow.py;
    in it, even at nice 19, it took the slowed core from the GUI thread)."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(off_the_terminal([sys.executable, "-c", BACKEND, str(folder)]),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
        assert self.process.stdout
        self.url, self.ca_file, self.token_file = json.loads(self.process.stdout.readline())
        self._lock = threading.Lock()

    def command(self, word: str) -> str:
        assert self.process.stdin and self.process.stdout
        with self._lock:
            self.process.stdin.write(word + "\n")
            self.process.stdin.flush()
            return self.process.stdout.readline().strip()

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(10)


class Card(EmulatedCard):
    """`ss-kiosk emulate-card` in its own process, told which person to play before each insert."""

    def play(self, person: Path) -> None:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(f"person {person}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().split()
        assert answer[:2] == ["person", "loaded"], answer


def in_background(action: Callable[[], object]) -> threading.Thread:
    """The emulator's insert waits for pcscd's poll: keep every wait of the bench off the GUI thread."""
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


# -- what is alive ---------------------------------------------------------------------------------
def proc_status(key: str) -> int:
    """A number from /proc/self/status (VmRSS in kB, Threads)."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(key + ":"))
    return int(line.split()[1])


@dataclass
class Alive:
    """A census at the attract screen, after a collection."""

    rss_mb: float
    window_objects: int  # QObjects under the kiosk's window
    widgets: int  # QApplication.allWidgets()
    top_levels: int  # QApplication.topLevelWidgets()
    threads: int  # Python threads
    os_threads: int  # every thread of the process (Qt's, pcsc-lite's too)
    fds: int
    python_objects: int
    singletons: tuple[int, int, int]  # references to None, True, False: a C extension that drops them crashes us
    types: collections.Counter[str] = field(repr=False)

    @property
    def qt_objects(self) -> int:
        return self.window_objects + self.widgets + self.top_levels

    @classmethod
    def now(cls, window: QObject) -> Alive:
        gc.collect()
        rss_mb = proc_status("VmRSS") / 1024  # first: the census's own lists come after
        objects = gc.get_objects()
        return cls(
            rss_mb=rss_mb,
            window_objects=len(window.findChildren(QObject)),
            widgets=len(QApplication.allWidgets()),
            top_levels=len(QApplication.topLevelWidgets()),
            threads=threading.active_count(),
            os_threads=proc_status("Threads"),
            fds=len(os.listdir("/proc/self/fd")),
            python_objects=len(objects),
            singletons=(sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)),
            types=collections.Counter(type(o).__name__ for o in objects),
        )


# -- driving the kiosk's own event loop ---------------------------------------------------------------
@dataclass
class Wait:
    """What a step waits for; `done` is checked on every turn of the event loop (it may tap, and say so)."""

    what: str
    done: Callable[[], object]
    timeout_s: float = TIMEOUT_S


class Stuck(Exception):
    """A Wait that did not come true in time."""


class Driver(QObject):
    """Runs a generator of Waits inside app.exec(), the event loop the hall's kiosk runs: the generator's
    code between two Waits runs on the GUI thread; a Wait that times out is thrown into it as Stuck."""

    def __init__(self, steps: Iterator[Wait]) -> None:
        super().__init__()
        self.steps = steps
        self.waiting: Wait | None = None
        self.deadline = 0.0
        self.error: BaseException | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._turn)
        self.timer.start(2)

    def _turn(self) -> None:
        try:
            if self.waiting is None or self.waiting.done():
                self._next(lambda: next(self.steps))
            elif time.monotonic() > self.deadline:
                self._next(lambda: self.steps.throw(Stuck(self.waiting.what)))  # type: ignore[union-attr]
        except StopIteration:
            self._finish()
        except BaseException as e:  # the bench's own fault: stop and say so, do not count it as the kiosk's
            self.error = e
            self._finish()

    def _next(self, step: Callable[[], Wait]) -> None:
        self.waiting = step()
        self.deadline = time.monotonic() + self.waiting.timeout_s

    def _finish(self) -> None:
        self.timer.stop()
        QApplication.quit()


def tap_button(window: QObject, words: str) -> bool:
    """Tap the visible button that says `words`, as a finger would; False while there is none."""
    found = next((b for b in window.findChildren(QAbstractButton) if b.isVisible() and b.text() == words), None)
    if found is not None:
        QTest.mouseClick(found, Qt.MouseButton.LeftButton)
    return found is not None


def tap_notice(window: QObject) -> bool:
    """Tap the first notice card on the screen (the most urgent)."""
    cards = [c for c in window.findChildren(TapCard) if c.isVisible()]
    if cards:
        QTest.mouseClick(cards[0], Qt.MouseButton.LeftButton)
    return bool(cards)


def pause(seconds: float) -> Wait:
    until = time.monotonic() + seconds
    return Wait(f"{seconds} s", lambda: time.monotonic() >= until, seconds + TIMEOUT_S)


# -- the soak ---------------------------------------------------------------------------------------
@dataclass
class Counts:
    exceptions: list[str] = field(default_factory=list)  # uncaught anywhere, or logged at ERROR
    stuck: list[str] = field(default_factory=list)
    sent: collections.Counter[str] = field(default_factory=collections.Counter)  # receipts given, by action
    session_s: list[float] = field(default_factory=list)


class ErrorsLogged(logging.Handler):
    """Exceptions the kiosk catches and logs (a worker must outlive surprises) count too."""

    def __init__(self, counts: Counts) -> None:
        super().__init__(logging.ERROR)
        self.counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        self.counts.exceptions.append(f"logged by {record.name}: {record.getMessage()}")


def quiet_offscreen(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's messages on stderr, less the offscreen platform's one about size hints (twice a session)."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def count_exceptions(counts: Counts) -> None:
    """Every exception that reaches the top of the GUI thread (a slot) or of any thread is counted."""
    previous, previous_thread = sys.excepthook, threading.excepthook

    def on_exception(kind: type[BaseException], value: BaseException, tb: object) -> None:
        counts.exceptions.append(f"{kind.__name__}: {value}")
        previous(kind, value, tb)  # type: ignore[arg-type]

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        counts.exceptions.append(f"thread {args.thread.name if args.thread else '?'}: {args.exc_type.__name__}")
        previous_thread(args)

    sys.excepthook, threading.excepthook = on_exception, on_thread_exception
    logging.getLogger().addHandler(ErrorsLogged(counts))


class Soak:
    def __init__(self, kiosk: KioskApp, card: Card, backend: Backend, stalls: EventLoopStalls) -> None:
        self.kiosk, self.card, self.backend, self.stalls = kiosk, card, backend, stalls
        self.window = kiosk.window
        self.counts = Counts()
        self.start: Alive | None = None
        self.end: Alive | None = None
        self.received: list[list] = []
        self.stall_s = 0.0
        self.stall_where = ""
        self.long_turns = (0, 0)  # (turns over EventLoopStalls.LONG_S, all turns)
        self.inserting: threading.Thread | None = None  # the emulator takes one command at a time

    @property
    def view(self) -> View:
        return self.window.view

    def screen_is(self, *screens: Screen) -> Callable[[], bool]:
        return lambda: self.view.screen in screens

    def pin_done(self) -> bool:
        return self.view.pin_checking or self.view.screen != Screen.PIN

    def tapped(self, words: str) -> Wait:
        return Wait(f"a {words} button", lambda: tap_button(self.window, words))

    def run(self, sessions: int, warmup: int) -> Iterator[Wait]:
        yield Wait("the first sync", lambda: self.kiosk.core is not None and bool(self.view.headlines), 30)
        for n in range(warmup + sessions):
            if n == warmup:
                yield from self.census()
                self.start, self.counts.session_s = Alive.now(self.window), []
                self.stalls.reset()
            if n and n % CHANGE_EVERY == 0:
                in_background(lambda: self.backend.command("change"))
            if n and n % FORGET_EVERY == 0:
                in_background(lambda: self.backend.command("forget"))
            started = time.monotonic()
            try:
                yield from self.session(n)
            except Stuck as e:
                self.counts.stuck.append(f"session {n + 1} ({PERSONS[n % len(PERSONS)].stem}): no {e} in time")
                yield from self.recover()  # stuck again: the soak ends (Stuck leaves the generator)
                continue
            self.counts.session_s.append(time.monotonic() - started)
            if (n + 1) % 50 == 0:
                rss = proc_status("VmRSS") / 1024
                print(f"session {n + 1} of {warmup} + {sessions}, RSS {rss:.1f} MB, {time.strftime('%H:%M:%S')}",
                      file=sys.stderr)  # fmt: skip
        # Before the census stalls it:
        self.stall_s, self.stall_where = self.stalls.longest, self.stalls.longest_where
        self.long_turns = (self.stalls.long_turns, self.stalls.turns)
        yield from self.census()
        self.end = Alive.now(self.window)
        network = self.kiosk.network
        assert network is not None
        network.sync_now()
        yield Wait("the outbox flushed", lambda: network.unconfirmed == 0 and network.status.get("outbox_depth") == 0,
                   60)  # fmt: skip
        self.received = json.loads(self.backend.command("receipts"))

    def census(self) -> Iterator[Wait]:
        """A quiet moment at the attract screen: late views painted, deferred deletes done, and the voice's
        fixed prompts made (~10 MB of audio, kept: a hall's kiosk makes them while idle after boot, long before
        its thousandth citizen; sessions back to back leave the voice little idle time to make them)."""
        yield Wait("the attract screen", self.screen_is(Screen.ATTRACT))
        speech = self.kiosk.speech
        yield Wait("the voice's prompts made", lambda: speech is None or not speech.preparing, 60)
        yield pause(0.5)

    def session(self, n: int) -> Iterator[Wait]:
        person = PERSONS[n % len(PERSONS)]
        pin = json.loads(person.read_text(encoding="utf-8"))["pin"]
        feedback = list(FEEDBACK)[(n // len(PERSONS)) % len(FEEDBACK)]  # each person gets each answer in turn
        self.inserting = in_background(lambda: (self.card.play(person), self.card.insert()))
        yield Wait("PIN pad", self.screen_is(Screen.PIN))
        for typed, digit in enumerate(pin, 1):
            yield self.tapped(digit)
            yield Wait(f"PIN digit {typed}", lambda: self.view.pin_length >= typed or self.pin_done())  # noqa: B023
        yield Wait("notices or the expired card", self.screen_is(Screen.NOTICES, Screen.CARD_EXPIRED))
        if self.view.screen == Screen.CARD_EXPIRED:
            yield self.tapped("查看我的消息")
        yield Wait("personal notices", lambda: self.view.screen == Screen.NOTICES and not self.view.personal_loading)
        if self.view.personal_unavailable:
            raise Stuck("personal notices (unavailable)")
        yield Wait("a notice to open", lambda: tap_notice(self.window))
        yield Wait("the notice's detail", self.screen_is(Screen.DETAIL))
        yield self.tapped(feedback)
        yield Wait("the notices after feedback", self.screen_is(Screen.NOTICES))
        self.counts.sent[FEEDBACK[feedback]] += 1
        yield self.tapped("办完了，退卡")
        yield Wait("goodbye", self.screen_is(Screen.GOODBYE))
        yield self.tapped(RATINGS[n % len(RATINGS)])
        yield Wait("the rating taken", lambda: self.view.rated)
        self.counts.sent["rating"] += 1
        self.inserting.join()
        removing = in_background(self.card.remove)
        yield Wait("the attract screen", self.screen_is(Screen.ATTRACT))
        removing.join()

    def recover(self) -> Iterator[Wait]:
        if self.inserting is not None:
            self.inserting.join(10)
        removing = in_background(self.card.remove)
        yield Wait("the attract screen after a stuck session", self.screen_is(Screen.ATTRACT), 20)
        removing.join()


# -- set-up, the run, the figures -------------------------------------------------------------------
def kiosk_config(backend: Backend, data: Path) -> str:
    return (
        f'[kiosk]\nid = "soak"\ndata_dir = "{data}"\n'
        f'[backend]\nurl = "{backend.url}"\nca_file = "{backend.ca_file}"\ntoken_file = "{backend.token_file}"\n'
        f"sync_interval_s = {SYNC_INTERVAL_S}\n"
        f'[reader]\nname_filter = "{READER}"\npsam_filter = "{PSAM_READER}"\n'  # the third-generation persons'
    )


@dataclass
class Result:
    sessions: int
    warmup: int
    seconds: float
    counts: Counts
    start: Alive
    end: Alive
    received: list[list]
    personal: dict[Path, dict[bytes, int]]
    stall_s: float
    stall_where: str
    long_turns: tuple[int, int]
    log_bytes: int


def soak(sessions: int, warmup: int) -> Result:
    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-soak-"))
    data = folder / "kiosk-data"
    data.mkdir()
    log_file = data / "kiosk.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    pcscd = ensure_pcscd()
    backend = Backend(folder / "backend")
    card = Card()
    psam = EmulatedPsam()  # in vpcd's second reader for the whole soak, as in a hall's kiosk
    psam.insert()
    garbage = GarbageOnGuiThread()  # as ui.app.run() has it
    kiosk = KioskApp(from_text(kiosk_config(backend, data)), devices(), player=off_the_terminal(SINK))
    try:
        kiosk.window.resize(1920, 1080)
        kiosk.window.bridge.first_painted.connect(kiosk.start, Qt.ConnectionType.QueuedConnection)
        kiosk.window.show()
        stalls = EventLoopStalls(attribute=True, showing=lambda: kiosk.window.view.screen.value)
        run = Soak(kiosk, card, backend, stalls)
        count_exceptions(run.counts)
        qInstallMessageHandler(quiet_offscreen)
        started = time.monotonic()
        driver = Driver(run.run(sessions, warmup))
        app.exec()
        seconds = time.monotonic() - started
        stalls.stop()
        if driver.error is not None:
            raise driver.error
    finally:
        kiosk.stop()
        kiosk.window.close()
        card.close()
        psam.close()
        backend.close()
        pcscd.stop()
        logging.getLogger().removeHandler(handler)
        handler.close()
        del garbage
    assert run.start and run.end
    secrets = []
    for person in PERSONS:
        fields = json.loads(person.read_text(encoding="utf-8"))["card"]
        secrets += [fields["ssn"], fields["card_no"], fields["name"], fields["card_id"]]
    personal = personal_data_in([p for p in data.rglob("*") if p.is_file()], secrets)
    return Result(sessions, warmup, seconds, run.counts, run.start, run.end, run.received, personal,
                  run.stall_s, run.stall_where, run.long_turns, log_file.stat().st_size)  # fmt: skip


def rows(r: Result) -> list[Row]:
    start, end = r.start, r.end
    growth = end.rss_mb - start.rss_mb
    received = collections.Counter(receipt[3] for receipt in r.received)
    distinct = len({receipt[0] for receipt in r.received})
    sent = r.counts.sent
    receipts_off = sum(abs(received[a] - sent[a]) for a in set(sent) | set(received)) + len(r.received) - distinct
    found = sum(len(needle) * times for hits in r.personal.values() for needle, times in hits.items())
    session_med, session_p95 = ms(r.counts.session_s)
    n = r.sessions
    return [
        Row("soak.memory_growth", f"resident memory growth over {n:,} sessions ({start.rss_mb:.1f} → "
            f"{end.rss_mb:.1f} MB)", growth, unit="MB", budget="≤ 5 MB", passed=growth <= 5),
        Row("soak.exceptions", f"exceptions, uncaught or logged, over {n:,} sessions", len(r.counts.exceptions),
            unit="count", budget="0", passed=not r.counts.exceptions),
        Row("soak.stuck", "sessions that did not reach the next screen in time", len(r.counts.stuck),
            unit="count", budget="0", passed=not r.counts.stuck),
        Row("soak.qt_objects", f"Qt objects alive, end − start ({start.qt_objects} → {end.qt_objects})",
            end.qt_objects - start.qt_objects, unit="count", budget="0", passed=end.qt_objects <= start.qt_objects),
        Row("soak.threads", f"Python threads alive, end − start ({start.threads} → {end.threads})",
            end.threads - start.threads, unit="count", budget="0", passed=end.threads <= start.threads),
        Row("soak.receipts", f"receipts given {sum(sent.values())} vs stored {len(r.received)} "
            f"({distinct} distinct ids), difference", receipts_off, unit="count", budget="0",
            passed=receipts_off == 0),
        Row("soak.personal_data", "bytes of personal data in the data dir and the DEBUG log", found, unit="bytes",
            budget="0", passed=found == 0),
        Row("soak.session", "one session, card in → card out, attract again", session_med, session_p95,
            budget="—"),
        stall_row("soak.stall", f"longest GUI event-loop stall over {n:,} sessions"
                  + (f" (the GUI thread: {r.stall_where})" if r.stall_where else ""), r.stall_s),
    ]  # fmt: skip


def details(r: Result) -> str:
    """What the rows summarise, for the person reading the run."""
    start, end = r.start, r.end
    received = collections.Counter(receipt[3] for receipt in r.received)
    lines = [
        f"{r.sessions:,} sessions after {r.warmup} warm-up in {r.seconds:.0f} s "
        f"({r.seconds / (r.sessions + r.warmup):.2f} s a session: 1,000 sessions ≈ "
        f"{1000 * r.seconds / (r.sessions + r.warmup) / 60:.0f} min)",
        f"resident memory {start.rss_mb:.1f} → {end.rss_mb:.1f} MB",
        f"Qt objects: under the window {start.window_objects} → {end.window_objects}, all widgets {start.widgets}"
        f" → {end.widgets}, top-level widgets {start.top_levels} → {end.top_levels}",
        f"threads: Python {start.threads} → {end.threads}, the process's {start.os_threads} → {end.os_threads}; "
        f"open files {start.fds} → {end.fds}; Python objects {start.python_objects} → {end.python_objects}",
        f"references to None, True, False {start.singletons} → {end.singletons}",
        f"receipts (warm-up too) given {dict(r.counts.sent)}; stored {dict(received)}",
        f"DEBUG log {r.log_bytes / 1e6:.1f} MB; personal data found in {len(r.personal)} files",
        f"longest GUI stall {r.stall_s * 1000:.1f} ms, the GUI thread in: {r.stall_where or '(under 30 ms)'}",
        f"event-loop turns over {EventLoopStalls.LONG_S * 1000:.0f} ms: {r.long_turns[0]:,} of {r.long_turns[1]:,}",
    ]
    grown = (end.types - start.types).most_common(8)
    if grown:
        lines.append("Python objects that grew most: " + ", ".join(f"{name} +{k}" for name, k in grown))
    lines += [f"  {e}" for e in (r.counts.exceptions[:10] + r.counts.stuck[:10])]
    lines += [f"  {path.name}: {sorted(hits)}" for path, hits in r.personal.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50, help="sessions before the start figures (why 50: above)")
    parser.add_argument("--save", action="store_true", help="keep the rows for bench/run (docs/soak.json, or "
                                                            "docs/soak-slowF.json with --slow F)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line")
    add_option(parser)
    args = parser.parse_args()
    slowed = confine(args.slow)  # before anything is started: all of it runs on the slow terminal
    result = soak(args.sessions, args.warmup)
    found = rows(result)
    if args.save:
        saved = soak_file(args.slow)
        when = time.strftime("%Y-%m-%d") + (f", --slow {args.slow:g}" if args.slow else "")
        dated = [Row(**{**asdict(row), "measure": f"{row.measure} [bench/soak.py, {when}]"}) for row in found]
        saved.write_text(json.dumps([asdict(row) for row in dated], ensure_ascii=False, indent=1) + "\n")
    title = f"soak, {args.sessions:,} sessions (platform {QApplication.platformName()})"
    title += f", {slowed}" if slowed else ""
    if args.json:
        print(details(result), file=sys.stderr)
    return report(found, title, details(result), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
