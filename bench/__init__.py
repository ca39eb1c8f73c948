"""Benchmarks that print figures beside a raw reference measured in the same run.

Each bench returns its figures as Rows and prints them with table(); `bench/run` runs them all and
prints the DESIGN §8 budgets in one table (docs/bench.md).
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


def stats(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def ms(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of seconds, in milliseconds."""
    median, p95 = stats(values)
    return median * 1000, p95 * 1000


@dataclass(frozen=True)
class Row:
    """One figure: ours (median, p95) beside the raw reference measured in the same run, and its budget.

    A p95 of None marks a single figure (the longest stall, the peak memory); `passed` None, no budget;
    `ours` None, a figure not measured in this run.
    """

    key: str  # how bench/run finds the row
    measure: str
    ours: float | None
    ours_p95: float | None = None
    ref: float | None = None
    ref_p95: float | None = None
    reference: str = ""  # what the raw reference is
    budget: str = "—"
    passed: bool | None = None
    unit: str = "ms"

    @property
    def ratio(self) -> float | None:
        return self.ours / self.ref if self.ours is not None and self.ref else None

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: ""}[self.passed]


COLUMNS = ("measure", "ours med", "ours p95", "raw med", "raw p95", "ratio", "unit", "raw reference", "budget", "")


def table(rows: list[Row]) -> str:
    """The rows as a markdown table, its columns padded so that it reads in a terminal too."""

    def figure(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    cells = [list(COLUMNS)] + [
        [r.measure, figure(r.ours), figure(r.ours_p95), figure(r.ref), figure(r.ref_p95),
         "—" if r.ratio is None else f"{r.ratio:.2f}", r.unit, r.reference or "—", r.budget, r.verdict]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    numeric = range(1, 6)

    def line(values: list[str]) -> str:
        padded = [
            v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if i in numeric else "-" * w for i, w in enumerate(widths)]
    return "\n".join([line(cells[0]), line(rule), *(line(c) for c in cells[1:])])


def report(rows: list[Row], title: str, note: str, as_json: bool) -> int:
    """A bench's output: its table with a title and a note, or (for bench/run) its rows as one JSON line."""
    if as_json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
    else:
        print(f"{title}\n{table(rows)}\n{note}")
    return 1 if any(r.passed is False for r in rows) else 0


def rows_from_json(line: str) -> list[Row]:
    return [Row(**fields) for fields in json.loads(line)]


class EventLoopStalls:
    """The longest gap between turns of the Qt event loop, beyond the 5 ms beat that measures it.

    With `attribute`, a watcher thread looks at the GUI thread's Python stack while a turn runs long, so the
    longest stall names what ran in it (a Python function, or Qt's own C++ work under exec()); the longest says
    how much of it the GUI thread itself ran, and, given `showing`, the screen it showed before and after."""

    BEAT_S = 0.005
    LOOK_AFTER_S = 0.030  # a turn this long is looked at
    SAMPLE_S = 0.004  # and then every 4 ms
    LONG_S = 0.025  # half the budget: how many turns come near it says more than the one longest

    def __init__(self, attribute: bool = False, showing: Callable[[], str] = lambda: "") -> None:
        from PySide6.QtCore import QTimer

        self.longest = 0.0
        self.longest_where = ""
        self.long_turns = 0
        self.turns = 0
        self._last = time.monotonic()
        self._last_cpu = time.thread_time()  # the GUI thread's own processor time: ran long, or waited for a turn
        self.showing = showing
        self._shown = showing()
        self._seen: list[tuple[float, str]] = []  # (the turn's start, the GUI thread's stack), from the watcher
        self._stop = threading.Event()
        self.timer = QTimer()
        self.timer.timeout.connect(self._beat)
        self.timer.start(int(self.BEAT_S * 1000))
        if attribute:
            gui = threading.get_ident()
            threading.Thread(target=self._watch, args=(gui,), name="stall-watcher", daemon=True).start()

    def reset(self) -> None:
        self.longest, self.longest_where, self._last, self._seen = 0.0, "", time.monotonic(), []
        self._last_cpu = time.thread_time()
        self.long_turns = self.turns = 0

    def stop(self) -> None:
        """Once the event loop has ended: no turn to time, nothing to look at."""
        self.timer.stop()
        self._stop.set()

    def _beat(self) -> None:
        now, cpu = time.monotonic(), time.thread_time()
        gap = now - self._last - self.BEAT_S
        seen, self._seen = self._seen, []
        self.turns += 1
        self.long_turns += gap > self.LONG_S
        if gap > self.longest:
            self.longest = gap
            in_turn = (stack for started, stack in seen if started == self._last)  # not a sample of a turn before
            where = "; then ".join(dict.fromkeys(in_turn))  # no "|": a markdown table cell
            ran = f"it ran {(cpu - self._last_cpu) * 1000:.0f} ms of the {(now - self._last) * 1000:.0f}"
            shown = self.showing()
            ran += f", {self._shown} → {shown}" if shown != self._shown else f", on {shown}" if shown else ""
            self.longest_where = f"{ran}; in: {where}" if where else ran
        self._last, self._last_cpu = now, cpu
        self._shown = self.showing()

    def _watch(self, gui: int) -> None:
        # faulthandler writes the GUI thread's stack without holding its frames: a frame held here would keep the
        # GUI thread's locals (a QPainter in paintEvent) alive and free them on this thread.
        # It sleeps until the turn running now would be LOOK_AFTER_S long: woken every 4 ms, it took the GIL from
        # the GUI thread 250 times a second, 1-3 ms of each long turn on a slowed terminal.
        with tempfile.TemporaryFile("w+") as dump:
            while not self._stop.wait(max(self._last + self.LOOK_AFTER_S - time.monotonic(), self.SAMPLE_S)):
                started = self._last
                if time.monotonic() - started < self.LOOK_AFTER_S or len(self._seen) > 100:
                    continue
                dump.seek(0)
                dump.truncate()
                faulthandler.dump_traceback(dump, all_threads=True)
                dump.seek(0)
                self._seen.append((started, gui_stack(dump.read(), gui)))


def gui_stack(dump: str, gui: int, depth: int = 4) -> str:
    """The innermost calls of one thread in a faulthandler dump, as "file:line function < caller …"."""
    block = dump.split(f"Thread 0x{gui:016x}", 1)[-1].split("\n\n", 1)[0].splitlines()[1 : depth + 1]
    calls = []
    for line in block:
        if match := re.match(r'\s*File "(.+)", line (\d+) in (\S+)', line):
            calls.append(f"{Path(match[1]).name}:{match[2]} {match[3]}")
    return " < ".join(calls)


def stall_row(key: str, measure: str, longest_s: float) -> Row:
    """DESIGN §8: no GUI event-loop stall over 50 ms. One figure, the longest seen."""
    longest = longest_s * 1000
    return Row(key, measure, longest, budget="≤ 50 ms, the longest", passed=longest <= 50)


# -- a process's figures, from /proc -----------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> float:
    """The processor time these processes have used since they started (user + system); gone ones count 0."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def peak_mb(pid: int | None) -> float:
    """A process's peak resident memory (VmHWM), MB; 0 for none."""
    status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)


def pss_mb(pid: int | None) -> float:
    """A process's proportional share of the memory it maps (Pss: a page shared by n processes counts 1/n), MB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text() if pid else ""
    return next((int(line.split()[1]) / 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0.0)
