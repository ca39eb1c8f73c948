"""The network worker: the kiosk's process for the backend, below the screen (`python -m kiosk.network_worker`).

Broadcast sync, outbox flush, heartbeats, a help request's watch and a card's personal notices run here at nice
10, and only this process writes the broadcast cache and the outbox. On one slow core the window's process, at
nice 0, then gets about nine turns in ten, and this process's allocations are never its collector's (issue 30).
It talks to the window's process (kiosk/network.py) in JSON lines on its stdin and stdout: requests in, events
out. Its stdin closing means the window's process is gone: it exits at once, mid-sync or not (each page and each
outbox item is its own transaction, so nothing is left half-written).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kiosk.cache import BroadcastCache
from kiosk.config import ConfigError, from_text
from kiosk.outbox import Outbox
from kiosk.sync import HEARTBEAT_DEVICES, Backend, BackendError, BackendSettings, SyncReport, SyncWorker
from kiosk.worker import Events, serve, setup_line

log = logging.getLogger("kiosk.network")

HELP_POLL_S = 2.0  # "the kiosk hears the acknowledgement within seconds" (issue 15); one small GET a poll
HELP_WAIT_S = 30 * 60.0  # a visit longer than this has ended one way or another


class NetworkWorker:
    def __init__(self, config_text: str, config_path: str | None, restarts: int, kiosk_started: float) -> None:
        config = from_text(config_text, Path(config_path) if config_path else None)
        self.kiosk_id = config["kiosk.id"]
        self.replies = Events()
        data = config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.cache = BroadcastCache(data / "broadcast.sqlite3")
        self.outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
        self.state: dict[str, str | None] = dict.fromkeys(HEARTBEAT_DEVICES)  # each as the window last said
        self.restarts = restarts
        self.backend: Backend | None = None
        self.sync: SyncWorker | None = None
        self.backend_error = ""
        try:
            self.backend = Backend(BackendSettings.from_config(config))
        except (BackendError, ConfigError) as e:  # the kiosk serves from its cache and keeps the citizens' taps
            log.error("no backend: %s", e)
            self.backend_error = str(e)
        if self.backend is not None:
            self.backend.network_restarts = restarts
            self.sync = SyncWorker(
                self.backend, self.cache, self.outbox, config["backend.sync_interval_s"],
                on_result=self._synced, devices=lambda: self.state,
            )  # fmt: skip
            self.sync.started_at = time.monotonic() - max(0.0, time.time() - kiosk_started)  # the kiosk's uptime
        # Several: a next citizen must not wait behind the abandoned request of a card that has left.
        self.personal_requests = ThreadPoolExecutor(max_workers=3, thread_name_prefix="personal")
        self.watched: str | None = None
        self._watch_changed = threading.Event()

    # -- what the worker tells the window's process --------------------------------------------
    def _synced(self, result: SyncReport | BackendError) -> None:
        changed = isinstance(result, SyncReport) and bool(result.new or result.updated or result.deleted)
        self.replies.send(event="synced", ok=not isinstance(result, BackendError), changed=changed)
        self._status()

    def _status(self) -> None:
        self.replies.send(event="status", outbox_depth=self.outbox.depth(), set_aside=self.outbox.undeliverable(),
                          held=self.outbox.held(), disk_error=self.outbox.disk_error)  # fmt: skip

    # -- what the window's process asks for ----------------------------------------------------
    def handle(self, request: dict) -> None:
        what = request.get("do")
        if what == "personal":
            self.personal_requests.submit(self._personal, request["id"], request["ssn"], request["card_no"])
        elif what == "receipt":
            try:
                self.outbox.add_receipt(request.get("notice_id"), request.get("subject"), request["action"],
                                        request.get("value"), receipt_id=request["id"], at=request["at"])  # fmt: skip
            except ValueError as e:  # one the backend could never take: said once, not asked again
                log.error("receipt refused: %s", e)
            self._stored(request["id"])
        elif what == "assist":
            self.outbox.add_assist(self.kiosk_id, request["screen"], request["id"], at=request["at"])
            self._stored(request["id"])
        elif what == "watch_help":
            self.watched = request.get("help_id")
            self._watch_changed.set()
        elif what == "state":
            self.state.update({k: request[k] for k in self.state if k in request})
        elif what == "count" and self.backend is not None:
            self.backend.tally.add(request["key"])
        elif what == "sync_now" and self.sync is not None:
            self.sync.kick()

    def _stored(self, item_id: str) -> None:
        self.replies.send(event="stored", id=item_id)
        self._status()
        if self.sync is not None:
            self.sync.kick()  # a help request, and a receipt, go out now, not at the next round

    def _personal(self, request_id: int, ssn: str, card_no: str) -> None:
        if self.backend is None:
            self.replies.send(event="personal", id=request_id, error="no backend configured")
            return
        try:
            answer = self.backend.personal_answer(ssn, card_no)
        except BackendError as e:
            log.warning("personal notices unavailable: %s", e)
            self.replies.send(event="personal", id=request_id, error=str(e))
            return
        self.replies.send(event="personal", id=request_id, answer=answer)

    def _watch_help(self) -> None:
        """Ask the hall every few seconds what staff have done with the request being watched: taken it (the
        kiosk says they are coming), then resolved it (the kiosk's banner goes). Each state is told once."""
        while True:
            self._watch_changed.wait()
            self._watch_changed.clear()
            help_id, deadline, told = self.watched, time.monotonic() + HELP_WAIT_S, ""
            while help_id is not None and self.watched == help_id and time.monotonic() < deadline:
                if self._watch_changed.wait(HELP_POLL_S):
                    break
                try:
                    _, _, answer = self.backend.call("GET", f"/assist/{help_id}")  # type: ignore[union-attr]
                except BackendError:  # not delivered yet (404), or the network is down: the outbox keeps trying
                    continue
                state = answer.get("state") if isinstance(answer, dict) else None
                if state in ("acknowledged", "resolved") and state != told:
                    self.replies.send(event="help", help_id=help_id, state=state)
                    told = state
                if state == "resolved":
                    break

    def run(self) -> None:
        self.replies.send(event="ready", rebuilt=self.cache.rebuilt, backend_error=self.backend_error)
        self._status()
        if self.sync is not None:
            threading.Thread(target=self._watch_help, name="help-watch", daemon=True).start()
            self.sync.start()
        serve(self.replies, self.handle, "network worker")


def main() -> None:
    setup = setup_line()
    NetworkWorker(setup["config"], setup.get("path"), setup.get("restarts", 0), setup.get("started", time.time())).run()


if __name__ == "__main__":
    main()
