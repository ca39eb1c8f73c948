"""The kiosk's side of its network worker (kiosk/network_worker.py): started at nice 10, kept alive, asked.

The window's process never touches the network, the outbox or the writing of the cache: it asks the worker in
JSON lines and hears back in events (kiosk/worker.py keeps the worker alive, and replaces one that is silent).
What it had not yet confirmed (a receipt, a help request, a card's personal notices, the help request being
watched) is asked again of the next one: a receipt's id is the citizen's tap's, so asking twice stores it once.
Every half second the kiosk's state for the heartbeat goes to the worker when it changed.
Imports neither requests nor the outbox: they are the worker's (the import contract in pyproject.toml, and
tests/faults/test_network_worker.py lists a running kiosk's modules).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from kiosk.config import Config, render, write_atomically
from kiosk.worker import HANG_S, WorkerProcess

__all__ = ["HANG_S", "STATUS_FILE", "NetworkProcess"]

log = logging.getLogger(__name__)

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
        self.sync_rounds = 0  # sync rounds the worker has finished, well or not (staff, tests)
        self.backend_error = ""  # the worker's sentence when the config names no backend it can use
        self.started = time.time()
        self._lock = threading.Lock()
        self._unconfirmed: dict[str, dict] = {}  # receipts and help requests the worker has not said it stored
        self._asked: dict[int, dict] = {}  # personal notices asked for, not yet answered
        self._watched: str | None = None
        self._sent_state: dict = {}
        self._next_id = 0
        self.worker = WorkerProcess("network worker", "kiosk.network_worker", self._setup, self._heard,
                                    on_start=self._ask_again, on_tick=self._send_state,
                                    on_change=self._write_status)  # fmt: skip

    @property
    def restarts(self) -> int:
        return self.worker.restarts

    @property
    def last_exit(self) -> str:
        return self.worker.last_exit

    # -- what the core asks for ------------------------------------------------------------------
    def personal(self, ssn: str, card_no: str, visit: int) -> None:
        """Ask for the cardholder's notices; the answer is an event {"event": "personal", "visit": visit, …}.
        One card at a time: an earlier card's question, unanswered, is dropped with its numbers."""
        with self._lock:
            self._next_id += 1
            request = {"do": "personal", "id": self._next_id, "ssn": ssn, "card_no": card_no}
            self._asked = {self._next_id: {**request, "visit": visit}}
        self.worker.send(request)

    def receipt(self, notice_id: str | None, subject: str | None, action: str, value: str | None) -> str:
        return self._store({"do": "receipt", "id": str(uuid.uuid4()), "notice_id": notice_id, "subject": subject,
                            "action": action, "value": value, "at": now_iso()})  # fmt: skip

    def assist(self, screen: str, help_id: str) -> str:
        return self._store({"do": "assist", "id": help_id, "screen": screen, "at": now_iso()})

    def watch_help(self, help_id: str | None) -> None:
        """Hear when staff take this help request (None: the visit ended, stop asking)."""
        self._watched = help_id
        self.worker.send({"do": "watch_help", "help_id": help_id})

    def count(self, key: str) -> None:
        """One more of what the hall's figures count (card_reads, card_errors)."""
        self.worker.send({"do": "count", "key": key})

    def sync_now(self) -> None:
        self.worker.send({"do": "sync_now"})

    def _store(self, request: dict) -> str:
        self._unconfirmed[request["id"]] = request
        self.worker.send(request)
        return request["id"]

    @property
    def unconfirmed(self) -> int:
        """Receipts and help requests not yet in the outbox (the worker is starting again)."""
        return len(self._unconfirmed)

    # -- the worker's life --------------------------------------------------------------------
    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        if self._unconfirmed:
            log.error("the kiosk stopped with %d receipts or help requests the worker never stored",
                      len(self._unconfirmed))  # fmt: skip

    def _setup(self) -> dict:
        return {"config": render(self.config), "path": str(self.config.path) if self.config.path else None,
                "restarts": self.worker.restarts, "started": self.started}  # fmt: skip

    def _ask_again(self) -> None:
        """What the last worker had not confirmed, asked of the new one (in the order asked)."""
        self._sent_state = {}
        with self._lock:
            pending = [*self._unconfirmed.values(), *self._asked.values()]
        for request in pending:
            self.worker.send({k: v for k, v in request.items() if k != "visit"})
        if self._watched is not None:
            self.worker.send({"do": "watch_help", "help_id": self._watched})

    def _heard(self, event: dict) -> None:
        kind = event["event"]
        if kind == "ready":
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
            with self._lock:
                asked = self._asked.pop(event["id"], None)
            if asked is None:
                return  # answered before, by a worker since replaced, or another card has come
            event["visit"] = asked["visit"]
        self.on_event(event)

    def _send_state(self) -> None:
        """The kiosk's state for the worker's heartbeat, when it changed."""
        state = self.state()
        if state != self._sent_state:
            self._sent_state = state
            self.worker.send({"do": "state", **state})

    def _write_status(self) -> None:
        """What `ss-kiosk doctor` says of the worker: whether it runs, and how often it had to be started again."""
        status = {"kiosk_pid": os.getpid(), "worker_pid": self.worker.pid, "restarts": self.worker.restarts,
                  "last_exit": self.worker.last_exit, "at": now_iso()}  # fmt: skip
        try:
            write_atomically(self.status_path, json.dumps(status) + "\n")
        except OSError as e:
            log.warning("cannot write %s: %s", self.status_path, e)

    def line(self) -> str:
        """The staff panel's line on the worker."""
        return self.worker.line("网络进程 network worker")
