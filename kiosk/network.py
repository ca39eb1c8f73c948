"""The kiosk's side of its network worker (kiosk/network_worker.py): started at nice 10, kept alive, asked.

The window's process never touches the network, the outbox or the writing of the cache: it asks the worker in
JSON lines and hears back in events, on two threads of its own (`network`: the worker's events; `network-watch`:
its signs of life and the kiosk's state for the heartbeat). A worker that dies is started again within a fraction
of a second (later and later if it keeps dying); one that stops answering (SIGSTOP, a wedge) is killed and
started again. What it had not yet confirmed (a receipt, a help request, a card's personal notices, the help
request being watched) is asked again of the next one: a receipt's id is the citizen's tap's, so asking twice
stores it once.
Imports neither requests nor the outbox: they are the worker's (the import contract in pyproject.toml, and
tests/faults/test_network_worker.py lists a running kiosk's modules).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kiosk.config import Config, render, write_atomically
from kiosk.priority import below_the_screen

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
HANG_S = 5.0  # no sign of life this long (it says it is alive every 0.5 s): replaced
STARTING_S = 60.0  # until it is ready: a cold start under emulation took 9 s (docs/deploy.md)
FIRST_RESTART_S = 0.2
LONGEST_RESTART_S = 30.0
STEADY_S = 10.0  # a worker that lived this long had not been "dying again and again"
STATUS_FILE = "network-worker.json"  # in the data dir: for `ss-kiosk doctor` (nothing personal in it)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class NetworkProcess:
    """The network worker, as the kiosk's core drives it. `on_event(event)` is called on the `network` thread
    with each event of the worker but its signs of life and its status (kept here, for staff)."""

    def __init__(self, config: Config, on_event: Callable[[dict], None], state: Callable[[], dict]) -> None:
        self.config, self.on_event, self.state = config, on_event, state
        self.status_path = config.data_dir / STATUS_FILE
        self.status: dict = {}  # the worker's last word on the outbox (depth, set aside, held in memory)
        self.restarts, self.last_exit = 0, ""
        self.sync_rounds = 0  # sync rounds the worker has finished, well or not (staff, tests)
        self.backend_error = ""  # the worker's sentence when the config names no backend it can use
        self.started = time.time()
        self._child: subprocess.Popen[str] | None = None
        self._send_lock = threading.Lock()
        self._unconfirmed: dict[str, dict] = {}  # receipts and help requests the worker has not said it stored
        self._asked: dict[int, dict] = {}  # personal notices asked for, not yet answered
        self._watched: str | None = None
        self._sent_state: dict = {}
        self._last_word = 0.0
        self._ready = False
        self._hung = False
        self._next_id = 0
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._supervise, name="network", daemon=True),
                         threading.Thread(target=self._watch, name="network-watch", daemon=True)]  # fmt: skip

    # -- what the core asks for ------------------------------------------------------------------
    def personal(self, ssn: str, card_no: str, visit: int) -> None:
        """Ask for the cardholder's notices; the answer is an event {"event": "personal", "visit": visit, …}.
        One card at a time: an earlier card's question, unanswered, is dropped with its numbers."""
        with self._send_lock:
            self._next_id += 1
            request = {"do": "personal", "id": self._next_id, "ssn": ssn, "card_no": card_no}
            self._asked = {self._next_id: {**request, "visit": visit}}
        self._send(request)

    def receipt(self, notice_id: str | None, subject: str | None, action: str, value: str | None) -> str:
        return self._store({"do": "receipt", "id": str(uuid.uuid4()), "notice_id": notice_id, "subject": subject,
                            "action": action, "value": value, "at": now_iso()})  # fmt: skip

    def assist(self, screen: str, help_id: str) -> str:
        return self._store({"do": "assist", "id": help_id, "screen": screen, "at": now_iso()})

    def watch_help(self, help_id: str | None) -> None:
        """Hear when staff take this help request (None: the visit ended, stop asking)."""
        self._watched = help_id
        self._send({"do": "watch_help", "help_id": help_id})

    def count(self, key: str) -> None:
        """One more of what the hall's figures count (card_reads, card_errors)."""
        self._send({"do": "count", "key": key})

    def sync_now(self) -> None:
        self._send({"do": "sync_now"})

    def _store(self, request: dict) -> str:
        self._unconfirmed[request["id"]] = request
        self._send(request)
        return request["id"]

    @property
    def unconfirmed(self) -> int:
        """Receipts and help requests not yet in the outbox (the worker is starting again)."""
        return len(self._unconfirmed)

    # -- the worker's life --------------------------------------------------------------------
    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        child = self._child
        if child is not None:
            if child.stdin:
                with contextlib.suppress(OSError):
                    child.stdin.close()  # it exits at the end of its input
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
        if self._unconfirmed:
            log.error("the kiosk stopped with %d receipts or help requests the worker never stored",
                      len(self._unconfirmed))  # fmt: skip

    def _send(self, request: dict) -> None:
        line = json.dumps(request, ensure_ascii=False) + "\n"
        with self._send_lock:
            child = self._child
            if child is None or child.stdin is None:
                return  # asked again of the next worker (_spawn)
            try:
                child.stdin.write(line)
                child.stdin.flush()
            except (OSError, ValueError):
                pass  # it is dying; the supervisor starts the next one, which is asked again

    def _spawn(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        child = subprocess.Popen(
            below_the_screen([sys.executable, "-m", "kiosk.network_worker"]), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, encoding="utf-8", env=env, cwd=ROOT, bufsize=1,
        )  # fmt: skip
        setup = {"config": render(self.config), "path": str(self.config.path) if self.config.path else None,
                 "restarts": self.restarts, "started": self.started,
                 "log_level": max(logging.INFO, logging.getLogger().getEffectiveLevel())}  # fmt: skip
        assert child.stdin
        child.stdin.write(json.dumps(setup, ensure_ascii=False) + "\n")
        with self._send_lock:
            self._child, self._ready, self._hung, self._last_word = child, False, False, time.monotonic()
            self._sent_state = {}
        # What the last one had not confirmed, asked again (in the order asked).
        for request in [*self._unconfirmed.values(), *self._asked.values()]:
            self._send({k: v for k, v in request.items() if k != "visit"})
        if self._watched is not None:
            self._send({"do": "watch_help", "help_id": self._watched})
        return child

    def _supervise(self) -> None:
        delay = FIRST_RESTART_S
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                child = self._spawn()
            except OSError as e:
                log.error("the network worker cannot be started: %s", e)
                self._stopping.wait(LONGEST_RESTART_S)
                continue
            self._write_status()
            assert child.stdout
            for line in child.stdout:
                try:
                    self._heard(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    log.warning("the network worker said something strange; ignored")
                except Exception:
                    log.exception("handling the network worker's event failed")
            code = child.wait()
            with self._send_lock:
                self._child = None
            if self._stopping.is_set():
                return
            self.restarts += 1
            self.last_exit = "hung: no sign of life, killed" if self._hung else exit_words(code)
            lived = time.monotonic() - began
            delay = FIRST_RESTART_S if lived > STEADY_S else delay
            log.error("the network worker ended (%s) after %.1f s; starting it again in %.1f s",
                      self.last_exit, lived, delay)  # fmt: skip
            self._write_status()
            self._stopping.wait(delay)
            delay = min(LONGEST_RESTART_S, delay * 2)

    def _heard(self, event: dict) -> None:
        self._last_word = time.monotonic()
        kind = event["event"]
        if kind == "alive":
            return
        if kind == "ready":
            self._ready = True
            self.backend_error = event.get("backend_error", "")
        elif kind == "synced":
            self.sync_rounds += 1
        elif kind == "status":
            self.status = event
            return
        elif kind == "stored":
            self._unconfirmed.pop(event["id"], None)
            return
        elif kind == "personal":
            asked = self._asked.pop(event["id"], None)
            if asked is None:
                return  # answered before, by a worker since replaced, or another card has come
            event["visit"] = asked["visit"]
        self.on_event(event)

    def _watch(self) -> None:
        """Its signs of life, and the kiosk's state for its heartbeat when that changes."""
        while not self._stopping.wait(0.5):
            child = self._child
            if child is None:
                continue
            quiet = time.monotonic() - self._last_word
            if quiet > (HANG_S if self._ready else STARTING_S) and child.poll() is None:
                log.error("the network worker has said nothing for %.0f s: replacing it", quiet)
                self._hung = True
                child.send_signal(signal.SIGKILL)  # a stopped process takes nothing else
                continue
            state = self.state()
            if state != self._sent_state:
                self._sent_state = state
                self._send({"do": "state", **state})

    def _write_status(self) -> None:
        """What `ss-kiosk doctor` says of the worker: whether it runs, and how often it had to be started again."""
        child = self._child
        status = {"kiosk_pid": os.getpid(), "worker_pid": child.pid if child else None, "restarts": self.restarts,
                  "last_exit": self.last_exit, "at": now_iso()}  # fmt: skip
        try:
            write_atomically(self.status_path, json.dumps(status) + "\n")
        except OSError as e:
            log.warning("cannot write %s: %s", self.status_path, e)

    def line(self) -> str:
        """The staff panel's line on the worker."""
        child = self._child
        running = "运行中 running" if child is not None and child.poll() is None and self._ready else "启动中 starting"
        again = f" · 重启 started again {self.restarts}× (last: {self.last_exit})" if self.restarts else ""
        return f"网络进程 network worker: {running}{again}"


def exit_words(code: int) -> str:
    """How a process ended, for staff: "killed by SIGKILL", "exit status 1"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
