"""The hall server: API v1 for the kiosks on one port, the staff console on another, both on uvicorn.

Two ports, not two paths: a kiosk's token (and its optional client certificate) opens the API only, and the
console's pages are not reachable from the kiosks' port at all. `HallServer` runs both on one event loop in a
thread of its own, which is how `ss-kiosk demo`, `ss-kiosk hall-server` and the tests all start it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import ssl
import threading
from pathlib import Path

import trustme
import uvicorn

from kiosk.hall.api import PAGE_SIZE, SAMPLE, KioskApi, NoticeBook
from kiosk.hall.console import Console, Live
from kiosk.hall.store import HallStore

log = logging.getLogger(__name__)


class TLSMaterial:
    """A throwaway CA and a server certificate for the loopback names, written where the kiosk can read the CA."""

    def __init__(self, folder: Path, names: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="ss-kiosk demo CA")
        self.server_cert = self.ca.issue_cert(*names)
        self.ca_file = folder / "demo-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context


class HallServer:
    """API v1 and the console, in a thread. `faults[endpoint]` lets a test make one API endpoint misbehave."""

    def __init__(
        self,
        folder: Path,
        notices: Path = SAMPLE,
        token: str | None = None,
        port: int = 0,
        page_size: int = PAGE_SIZE,
        tls: TLSMaterial | None = None,
        server_context: ssl.SSLContext | None = None,
        database: str = "",
        console_port: int = 0,
        console_context: ssl.SSLContext | None = None,
        places: dict[str, str] | None = None,
        session_idle_s: float = 30 * 60,
        host: str = "127.0.0.1",
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.tls = tls or TLSMaterial(folder)
        self.token = token or secrets.token_urlsafe(24)
        self.token_file = folder / "token"
        self.token_file.write_text(self.token + "\n", encoding="utf-8")
        self.token_file.chmod(0o600)
        self.store = HallStore(database or folder / "hall.sqlite3")
        self.book = NoticeBook(notices, page_size)
        self.live = Live()
        self.api = KioskApi(self.store, self.book, self.token, on_change=self.live.changed)
        self.console = Console(self.store, self.live, places or {}, session_idle_s)
        self.host = host
        self._sockets = (_bound(host, port), _bound(host, console_port))
        self.ports = tuple(sock.getsockname()[1] for sock in self._sockets)  # still known once stopped
        contexts = (server_context or self.tls.server_context(), console_context or self.tls.server_context())
        self._servers = [
            _uvicorn(app, context) for app, context in zip((self.api.app(), self.console.app()), contexts, strict=True)
        ]
        self._thread = threading.Thread(target=self._serve, name="hall-server", daemon=True)
        self._ready = threading.Event()

    # -- what the tests and the demo used the reference backend for -------------------------------
    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.ports[0]}/api/v1"

    @property
    def console_url(self) -> str:
        return f"https://{self.host}:{self.ports[1]}/"

    @property
    def faults(self) -> dict:
        return self.api.faults

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self.api.requests

    @property
    def broadcast(self) -> dict[str, dict]:
        return self.book.broadcast

    @property
    def revision(self) -> int:
        return self.book.revision

    @property
    def page_size(self) -> int:
        return self.book.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.book.page_size = value

    def publish(self, notice: dict) -> None:
        self.book.publish(notice)

    def delete(self, notice_id: str) -> None:
        self.book.delete(notice_id)

    def receipts(self) -> list[tuple]:
        return self.store.receipts()

    def assists(self) -> list[tuple]:
        return [(h.id, h.kiosk_id, h.screen) for h in reversed(self.store.help_requests())]

    def heartbeats(self) -> list[dict]:
        return self.store.heartbeats()

    # -- running -------------------------------------------------------------------------------
    def start(self) -> HallServer:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the hall server did not start within 15 s")
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
            server.force_exit = True  # idle keep-alive connections of kiosks need no goodbye
        self._thread.join(10)
        for sock in self._sockets:
            sock.close()
        self.store.close()

    def _serve(self) -> None:
        async def both() -> None:
            self.live.bind(asyncio.get_running_loop())
            serving = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(self._servers, self._sockets,
                                                                                          strict=True)]  # fmt: skip
            while not all(s.started for s in self._servers):
                if any(task.done() for task in serving):
                    break
                await asyncio.sleep(0.01)
            self._ready.set()
            await asyncio.gather(*serving)

        asyncio.run(both())


def _bound(host: str, port: int) -> socket.socket:
    """The listening socket, bound now: its port is known before the server runs, and a port in use says so."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def _uvicorn(app: object, context: ssl.SSLContext) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30,
                            timeout_graceful_shutdown=2)  # fmt: skip
    config.load()
    config.ssl = context  # uvicorn builds a context only from files; ours may come from memory (trustme, tests)
    return uvicorn.Server(config)
