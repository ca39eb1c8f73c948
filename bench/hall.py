"""The hall server under a province's fleet: 2,000 kiosks heartbeating every 60 s, 100 help requests a minute.

Each kiosk does what the real one does (kiosk/sync.py, kiosk/app.py): a heartbeat every minute, a broadcast
poll every five (ETag, a 304), and while a citizen waits for staff, a look at its help request every 2 s. A
kiosk keeps its connection for the server's keep-alive (30 s), so a heartbeat a minute apart opens a new TLS
connection, as it does in a hall. Three consoles (a wall screen, two staff PCs) listen to the live stream;
staff resolve each request 20 s after it appears. Figures:

- API p95 latency (every kiosk request, from its first byte out, connection included, to its last byte in)
- help request → console: from the kiosk's POST /assist to the help id in a console's live stream (≤ 2 s)
- server CPU (of one core; PostgreSQL's processes counted in) and memory (peak resident)

Side by side: SQLite (the default), PostgreSQL (a throwaway server of Debian's package), and the raw
reference: a bare Starlette app on the same uvicorn and TLS that answers each call at once, stores nothing
and tells its stream of each help request (what the stack costs before any of our work).

Usage: python bench/hall.py [--kiosks 2000] [--seconds 60] [--json]
The server runs in its own process; this one is the fleet (asyncio, one connection per kiosk).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import Row, cpu_seconds, ms, peak_mb, report  # noqa: E402

HEARTBEAT_S = 60.0
BROADCAST_S = 300.0  # the kiosk's default backend.sync_interval_s
HELP_POLL_S = 2.0
KEEP_ALIVE_S = 25.0  # under uvicorn's 30 s (kiosk/hall/server.py): reused as requests reuses it
RESOLVE_AFTER_S = 20.0
CONSOLES = 3
HELP_BUDGET_S = 2.0
HELP_ID = re.compile(rb"[0-9a-f]{32}")


# -- the server, in its own process -----------------------------------------------------------------
def serve(kind: str, folder: Path, database: str, kiosks: int) -> None:
    """Start the server, print how to reach it as one JSON line, serve until stdin closes."""
    started = raw_server(folder) if kind == "raw" else hall_server(folder, database, kiosks)
    print(json.dumps(started), flush=True)
    sys.stdin.read()


def hall_server(folder: Path, database: str, kiosks: int) -> dict:
    from kiosk.hall.console import _digest
    from kiosk.hall.server import HallServer
    from kiosk.staff import hash_secret

    places = {kiosk_name(n): f"{n // 100 + 1}号厅 {n % 100 + 1}号机" for n in range(kiosks)}
    hall = HallServer(folder, database=database, places=places).start()
    hall.store.put_staff("bench-clerk", "clerk", hash_secret(secrets.token_urlsafe(12)))
    sessions = []
    for _ in range(CONSOLES):
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        hall.store.open_staff_session(_digest(token), "bench-clerk", csrf)
        sessions.append([token, csrf])
    for n in range(kiosks):  # the fleet as the hall knows it at the start: every kiosk seen a minute ago
        hall.store.add_heartbeat(kiosk_name(n), heartbeat(n), {}, 0.0)
    return {"api": hall.ports[0], "console": hall.ports[1], "token": hall.token, "ca": str(hall.tls.ca_file),
            "sessions": sessions, "poll": f"/notices/broadcast?cursor={hall.book.epoch}.{hall.book.revision}",
            "etag": hall.book.etag}  # fmt: skip


def raw_server(folder: Path) -> dict:
    """The same stack with nothing of ours: every answer fixed, a help request told to the stream at once."""
    import threading

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    from kiosk.hall.server import TLSMaterial, _bound, _uvicorn

    listeners: set[asyncio.Queue[bytes]] = set()

    async def heartbeat_(request: Request) -> Response:
        await request.body()
        return Response(status_code=204)

    async def assist(request: Request) -> Response:
        body = json.loads(await request.body())
        for queue in listeners:
            queue.put_nowait(body["id"].encode())
        return JSONResponse({"accepted": True, "id": body["id"]}, status_code=202)

    async def assist_state(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"], "state": "open"})

    async def broadcast(request: Request) -> Response:
        return Response(status_code=304, headers={"ETag": '"raw"'})

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[bytes]:
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            listeners.add(queue)
            try:
                yield b"retry: 2000\n\n"
                while True:
                    yield b"event: help\ndata: " + await queue.get() + b"\n\n"
            finally:
                listeners.discard(queue)

        return StreamingResponse(stream(), media_type="text/event-stream")

    app = Starlette(routes=[
        Route("/api/v1/heartbeat", heartbeat_, methods=["POST"]), Route("/api/v1/assist", assist, methods=["POST"]),
        Route("/api/v1/assist/{id}", assist_state), Route("/api/v1/notices/broadcast", broadcast),
        Route("/events", events),
    ])  # fmt: skip
    tls = TLSMaterial(folder)
    sock = _bound("127.0.0.1", 0)
    server = _uvicorn(app, tls.server_context())
    threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = sock.getsockname()[1]
    return {"api": port, "console": port, "token": "raw", "ca": str(tls.ca_file), "sessions": [["", ""]] * CONSOLES,
            "poll": "/notices/broadcast?cursor=raw.0", "etag": '"raw"'}  # fmt: skip


def kiosk_name(n: int) -> str:
    return f"hall-{n:05d}"


def heartbeat(n: int) -> dict:
    return {"kiosk_id": kiosk_name(n), "version": "0.2.0", "reader": "ok", "psam": "ready", "voice": "ready",
            "last_sync": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "outbox_depth": 0,
            "uptime_s": 3600.0}  # fmt: skip


# -- the fleet, in this process ---------------------------------------------------------------------
class Link:
    """One kiosk's HTTPS connection: kept for KEEP_ALIVE_S, then a new one (a new TLS handshake)."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port, self.context = port, context
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def call(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None or time.monotonic() - self.used > KEEP_ALIVE_S:
            self.close()
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.context, server_hostname="localhost"
            )
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1", "Host: localhost", f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answer = await self.reader.readexactly(length) if length else b""
        self.used = time.monotonic()
        return int(status_line.split()[1]), answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass
class Fleet:
    started: dict  # what serve() printed
    kiosks: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lag: float = 0.0  # how far behind its schedule the fleet fell: its figures hold only when this is small
    sent: dict[bytes, float] = field(default_factory=dict)  # help id -> when its POST went out
    seen: list[float] = field(default_factory=list)  # help request -> console, per console and request
    resolved: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.context = ssl.create_default_context(cafile=self.started["ca"])
        self.end = time.monotonic() + self.seconds

    def headers(self, n: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.started['token']}", "X-Kiosk-Id": kiosk_name(n),
                "Content-Type": "application/json", "Accept": "application/json"}  # fmt: skip

    async def timed(
        self, link: Link, method: str, path: str, n: int, body: dict | None = None, extra: dict | None = None
    ) -> bytes:
        start = time.monotonic()
        try:
            status, answer = await link.call(method, "/api/v1" + path, {**self.headers(n), **(extra or {})},
                                             json.dumps(body).encode() if body else b"")  # fmt: skip
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            link.close()
            self.failures.append(f"{method} {path}: {type(e).__name__}")
            return b""
        self.latencies.append(time.monotonic() - start)
        if status >= 400:
            self.failures.append(f"{method} {path}: {status}")
        return answer

    async def kiosk(self, n: int) -> None:
        """Heartbeats every minute and a broadcast poll every five, from a random point in the cycle."""
        link = Link(self.started["api"], self.context)
        first = random.uniform(0, HEARTBEAT_S)
        next_heartbeat = time.monotonic() + first
        next_poll = time.monotonic() + random.uniform(0, BROADCAST_S)
        while True:
            due = min(next_heartbeat, next_poll)
            if due >= self.end:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self.lag = max(self.lag, time.monotonic() - due)
            if due == next_heartbeat:
                body = {**heartbeat(n), "counts": {"network_calls": 7, "card_reads": 1}}
                await self.timed(link, "POST", "/heartbeat", n, body)
                next_heartbeat += HEARTBEAT_S
            else:
                await self.timed(link, "GET", self.started["poll"], n, extra={"If-None-Match": self.started["etag"]})
                next_poll += BROADCAST_S
        link.close()

    async def help_requests(self, per_minute: float) -> None:
        """A citizen at a random kiosk presses 请工作人员帮忙; the kiosk then watches its request."""
        watchers = []
        gap = 60.0 / per_minute
        due = time.monotonic() + 1.0
        while due < self.end - 5.0:  # the last ones still have time to reach the consoles
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self.lag = max(self.lag, time.monotonic() - due)
            watchers.append(asyncio.ensure_future(self.one_help_request(random.randrange(self.kiosks))))
            due += gap
        await asyncio.gather(*watchers)

    async def one_help_request(self, n: int) -> None:
        link = Link(self.started["api"], self.context)
        help_id = secrets.token_hex(16)
        self.sent[help_id.encode()] = time.monotonic()
        await self.timed(link, "POST", "/assist", n, {"id": help_id, "screen": "notices", "at": "2026-12-04T10:00:00"})
        while time.monotonic() < self.end and help_id.encode() not in self.resolved:
            await asyncio.sleep(HELP_POLL_S)
            answer = await self.timed(link, "GET", f"/assist/{help_id}", n)
            if b'"resolved"' in answer:
                break
        link.close()

    async def console(self, token: str, csrf: str, staff: bool) -> None:
        """A console's live stream: when each help id first appears in it; one console's staff resolve them."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.started["console"], ssl=self.context,
                                                       server_hostname="localhost")  # fmt: skip
        cookie = f"Cookie: __Host-hall_session={token}\r\n" if token else ""
        writer.write(f"GET /events HTTP/1.1\r\nHost: localhost\r\n{cookie}Accept: text/event-stream\r\n\r\n".encode())
        known: set[bytes] = set()
        resolving = []
        try:
            while time.monotonic() < self.end:
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), max(0.1, self.end - time.monotonic()))
                except TimeoutError:
                    break
                if not chunk:
                    self.failures.append("console stream ended")
                    break
                now = time.monotonic()
                for found in set(HELP_ID.findall(chunk)) - known:
                    known.add(found)
                    if found in self.sent:
                        self.seen.append(now - self.sent[found])
                        if staff:
                            resolving.append(asyncio.ensure_future(self.resolve(found, token, csrf)))
        finally:
            writer.close()
            for task in resolving:
                task.cancel()

    async def resolve(self, help_id: bytes, token: str, csrf: str) -> None:
        await asyncio.sleep(RESOLVE_AFTER_S)
        self.resolved.add(help_id)
        if not token:  # the raw reference has no console to answer
            return
        link = Link(self.started["console"], self.context)
        body = f"csrf={csrf}".encode()
        headers = {"Cookie": f"__Host-hall_session={token}", "Content-Type": "application/x-www-form-urlencoded"}
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await link.call("POST", f"/help/{help_id.decode()}/resolved", headers, body)
        link.close()

    async def run(self, help_per_minute: float) -> None:
        consoles = [asyncio.ensure_future(self.console(token, csrf, staff=(i == 0)))
                    for i, (token, csrf) in enumerate(self.started["sessions"])]  # fmt: skip
        await asyncio.sleep(0.5)
        await asyncio.gather(*(self.kiosk(n) for n in range(self.kiosks)), self.help_requests(help_per_minute))
        await asyncio.gather(*consoles)


@dataclass
class Measured:
    latencies: list[float]
    seen: list[float]
    expected_seen: int
    cpu: float  # share of one core
    peak_mb: float
    lag: float
    failures: list[str]


def database_pids(address: str) -> list[int]:
    """The PostgreSQL processes serving `address` (the postmaster's children and itself)."""
    if not address:
        return []
    folder = re.search(r"host=([^&]+)", address)
    pid_file = Path(folder[1]) / "data" / "postmaster.pid" if folder else None
    if pid_file is None or not pid_file.exists():
        return []
    master = int(pid_file.read_text().split()[0])
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def measure(kind: str, kiosks: int, seconds: float, help_per_minute: float, database: str = "") -> Measured:
    folder = Path(tempfile.mkdtemp(prefix=f"ss-kiosk-bench-hall-{kind}-"))
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--folder", str(folder), "--database", database,
         "--kiosks", str(kiosks)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout and process.stdin
    try:
        started = json.loads(process.stdout.readline())
        pids = [process.pid, *database_pids(database)]
        fleet = Fleet(started, kiosks, seconds)
        before, wall = cpu_seconds(pids), time.monotonic()
        asyncio.run(fleet.run(help_per_minute))
        cpu = (cpu_seconds(pids + database_pids(database)) - before) / (time.monotonic() - wall)
        memory = peak_mb(process.pid)
    finally:
        process.stdin.close()
        process.wait(30)
    return Measured(fleet.latencies, fleet.seen, len(fleet.sent) * CONSOLES, cpu, memory, fleet.lag, fleet.failures)


def rows(kiosks: int, seconds: float, help_per_minute: float) -> list[Row]:
    from kiosk.hall.throwaway import fresh_database, throwaway_postgres

    raw = measure("raw", kiosks, seconds, help_per_minute)
    results = {"sqlite": measure("hall", kiosks, seconds, help_per_minute)}
    with throwaway_postgres() as server:
        results["postgresql"] = measure("hall", kiosks, seconds, help_per_minute, fresh_database(server))
    reference = "bare Starlette on the same uvicorn + TLS"
    out = []
    for name, m in results.items():
        api, api_raw = ms(m.latencies), ms(raw.latencies)
        seen, seen_raw = ms(m.seen or [0.0]), ms(raw.seen or [0.0])
        complete = len(m.seen) == m.expected_seen
        out += [
            Row(f"hall.{name}.api", f"{name}: API call (p95 ≤ 3 s, seed 003), {len(m.latencies)} calls", api[0],
                api[1], api_raw[0], api_raw[1], reference, "p95 ≤ 3,000 ms", api[1] <= 3000),
            Row(f"hall.{name}.help", f"{name}: help request → console, {len(m.seen)}/{m.expected_seen} seen",
                seen[0], seen[1], seen_raw[0], seen_raw[1], reference, "p95 ≤ 2,000 ms",
                complete and seen[1] <= HELP_BUDGET_S * 1000),
            Row(f"hall.{name}.cpu", f"{name}: server CPU, of one core (database included)", m.cpu * 100, None,
                raw.cpu * 100, None, reference, unit="%"),
            Row(f"hall.{name}.memory", f"{name}: server memory, peak resident", m.peak_mb, None, raw.peak_mb,
                None, reference, unit="MB"),
            Row(f"hall.{name}.failed", f"{name}: calls failed ({'; '.join(sorted(set(m.failures))[:3]) or 'none'})",
                len(m.failures), None, len(raw.failures), None, reference, "none", not m.failures, unit="calls"),
            Row(f"hall.{name}.lag", f"{name}: the simulated fleet behind its schedule, at most", m.lag * 1000, None,
                raw.lag * 1000, None, reference, "≤ 1,000 ms (else these figures understate)", m.lag <= 1.0),
        ]  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--help-per-minute", type=float, default=100.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", choices=["hall", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.folder, args.database, args.kiosks)
        return 0
    title = (f"hall server: {args.kiosks:,} kiosks heartbeating every {HEARTBEAT_S:.0f} s, "
             f"{args.help_per_minute:.0f} help requests a minute, {args.seconds:.0f} s, "
             f"{os.cpu_count()} cores")  # fmt: skip
    note = ("Latencies in ms from the kiosk's first byte out to its last byte in; CPU in % of one core over the "
            "run (server process, and PostgreSQL's processes for postgresql); the fleet runs in the bench's "
            "process.")  # fmt: skip
    return report(rows(args.kiosks, args.seconds, args.help_per_minute), title, note, args.json)


if __name__ == "__main__":
    sys.exit(main())
