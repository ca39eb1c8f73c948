"""A worker process below the screen, both sides of it: the network (kiosk/network_worker.py) and the voice
(hardware/speech_worker.py) each run in one, at nice 10, so that on one slow core the window's process gets about
nine turns in ten and none of their allocations are its collector's (issue 30).

They talk in JSON lines: a setup line and then requests on the worker's stdin, events on its stdout. The window's
side (`WorkerProcess`) starts the worker again within a fraction of a second when it dies (later and later if it
keeps dying), and kills and replaces one that stops saying it is alive (SIGSTOP, a wedge). The worker's side
(`serve`) says it is alive every ALIVE_S, and ends when its stdin ends or the window's process dies.
A plain child on pipes, not multiprocessing: its spawn runs the parent's main script again in the child.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.priority import below_the_screen

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
ALIVE_S = 0.5  # how often a worker says it is alive
HANG_S = 5.0  # no sign of life this long, once ready: replaced
STARTING_S = 60.0  # until it is ready: a cold start under emulation took 9 s (docs/deploy.md)
FIRST_RESTART_S = 0.2
LONGEST_RESTART_S = 30.0
STEADY_S = 10.0  # a worker that lived this long had not been "dying again and again"
PR_SET_PDEATHSIG = 1


# -- the window's side ---------------------------------------------------------------------------
class WorkerProcess:
    """One worker, kept alive on two threads of the window's process: `<name>` hears its events and starts it
    again; `<name>-watch` replaces it when silent and calls `on_tick` every half second. `on_event(event)` gets
    every event but its signs of life; `on_start()` runs once each new worker has its setup (ask again there what
    the last one had not confirmed); `on_change()` after it started or ended (a status file)."""

    def __init__(
        self, name: str, module: str, setup: Callable[[], dict], on_event: Callable[[dict], None],
        on_start: Callable[[], None] = lambda: None, on_tick: Callable[[], None] = lambda: None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:  # fmt: skip
        self.name, self.module, self.setup = name, module, setup
        self.on_event, self.on_start, self.on_tick, self.on_change = on_event, on_start, on_tick, on_change
        self.restarts, self.last_exit = 0, ""
        self.ready = False  # the running worker said it is ready
        self._child: subprocess.Popen[str] | None = None
        self._send_lock = threading.RLock()  # held while a new worker is told what the last had not confirmed
        self._last_word = 0.0
        self._hung = False
        self._stopping = threading.Event()
        thread = name.replace(" worker", "")
        self._threads = [threading.Thread(target=self._supervise, name=thread, daemon=True),
                         threading.Thread(target=self._watch, name=f"{thread}-watch", daemon=True)]  # fmt: skip

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None else None

    def running(self) -> bool:
        child = self._child
        return child is not None and child.poll() is None and self.ready

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        child = self._child
        if child is None:
            return
        if child.stdin:
            with contextlib.suppress(OSError):
                child.stdin.close()  # it exits at the end of its input
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
        self._end_group(child)

    def send(self, request: dict) -> bool:
        """False when no worker runs to take it (the caller asks the next one, in on_start)."""
        line = json.dumps(request, ensure_ascii=False) + "\n"
        with self._send_lock:
            child = self._child
            if child is None or child.stdin is None:
                return False
            try:
                child.stdin.write(line)
                child.stdin.flush()
            except (OSError, ValueError):
                return False  # it is dying; the supervisor starts the next one
        return True

    def line(self, label: str) -> str:
        """The staff panel's line on the worker."""
        running = "运行中 running" if self.running() else "启动中 starting"
        again = f" · 重启 started again {self.restarts}× (last: {self.last_exit})" if self.restarts else ""
        return f"{label}: {running}{again}"

    def _spawn(self) -> subprocess.Popen[str]:
        setup = {**self.setup(), "log_level": max(logging.INFO, logging.getLogger().getEffectiveLevel())}
        line = json.dumps(setup, ensure_ascii=False) + "\n"
        env = {**os.environ, "PYTHONUTF8": "1",  # its stdio in UTF-8 whatever the terminal's locale (GB18030)
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip
        child = subprocess.Popen(
            below_the_screen([sys.executable, "-m", self.module]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=env, cwd=ROOT, bufsize=1,
            start_new_session=True,  # its own group: what it started (aplay) goes with it (_end_group)
        )  # fmt: skip
        assert child.stdin
        child.stdin.write(line)
        with self._send_lock:  # nothing else reaches the new worker before it has heard what it must know
            self._child, self.ready, self._hung, self._last_word = child, False, False, time.monotonic()
            self.on_start()
        if self._stopping.is_set():  # stop() came while it was starting
            child.stdin.close()
        return child

    @staticmethod
    def _end_group(child: subprocess.Popen[str]) -> None:
        """What a dead worker had started (the voice's player, in mid-prompt) stops with it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)

    def _supervise(self) -> None:
        delay = FIRST_RESTART_S
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                child = self._spawn()
            except Exception as e:  # no Python, no memory, a setup that is not JSON: said, tried again later
                log.error("the %s cannot be started: %s", self.name, e)
                self._stopping.wait(LONGEST_RESTART_S)
                continue
            self.on_change()
            assert child.stdout
            for line in child.stdout:
                try:
                    self._heard(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    log.warning("the %s said something strange; ignored", self.name)
                except Exception:
                    log.exception("handling the %s's event failed", self.name)
            code = child.wait()
            self._end_group(child)
            with self._send_lock:
                self._child = None
            if self._stopping.is_set():
                return
            self.restarts += 1
            self.last_exit = "hung: no sign of life, killed" if self._hung else exit_words(code)
            lived = time.monotonic() - began
            delay = FIRST_RESTART_S if lived > STEADY_S else delay
            log.error("the %s ended (%s) after %.1f s; starting it again in %.1f s",
                      self.name, self.last_exit, lived, delay)  # fmt: skip
            self.on_change()
            self._stopping.wait(delay)
            delay = min(LONGEST_RESTART_S, delay * 2)

    def _heard(self, event: dict) -> None:
        self._last_word = time.monotonic()
        if event["event"] == "alive":
            return
        if event["event"] == "ready":
            self.ready = True
        self.on_event(event)

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            child = self._child
            if child is None:
                continue
            quiet = time.monotonic() - self._last_word
            if quiet > (HANG_S if self.ready else STARTING_S) and child.poll() is None:
                log.error("the %s has said nothing for %.0f s: replacing it", self.name, quiet)
                self._hung = True
                child.send_signal(signal.SIGKILL)  # a stopped process takes nothing else
                continue
            self.on_tick()


def exit_words(code: int) -> str:
    """How a process ended, for staff: "killed by SIGKILL", "exit status 1"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


# -- the worker's side -----------------------------------------------------------------------------
class Events:
    """The events to the window's process, one JSON line each, from any of the worker's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, **event: object) -> None:
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except (OSError, ValueError):  # the window's process is gone: so is the reason to be here
                os._exit(0)


def setup_line() -> dict:
    """In the worker, first: it dies with the window's process, logs as the kiosk does, and reads its setup."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the end of stdin still ends it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # even blocked in a call
    if os.getppid() == 1:  # the parent had gone before prctl took hold
        os._exit(0)
    setup = json.loads(sys.stdin.readline() or "{}")
    # Logged as the kiosk's own lines are (kiosk.cli), to the same journal.
    logging.basicConfig(level=setup.get("log_level", logging.WARNING), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    return setup


def serve(
    events: Events, handle: Callable[[dict], None], name: str, at_end: Callable[[], object] = lambda: None
) -> None:
    """Says it is alive, and hands each request to `handle` until the window's process closes its stdin; then
    `at_end()` (the voice stops its player) and out."""

    def alive() -> None:
        while True:
            events.send(event="alive")
            time.sleep(ALIVE_S)

    threading.Thread(target=alive, name="alive", daemon=True).start()
    for line in sys.stdin:
        try:
            handle(json.loads(line))
        except Exception:  # one strange request must not end the worker (the window's process would wait)
            log.exception("%s: a request failed", name)
    at_end()
    os._exit(0)  # the window's process has gone: nothing more is written
