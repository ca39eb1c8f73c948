"""The reference backend: API v1 on loopback HTTPS with a throwaway CA, for the demo and the tests.

Sample data in `assets/notices/sample.json` (dates there are day offsets like "+20d", resolved
against today when loaded, so the sample never goes stale). Receipts, mutes, reminders, help
requests and heartbeats are kept in SQLite; receipts and help requests are deduplicated by id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from kiosk.notices import CATEGORIES
from kiosk.outbox import ACTIONS

log = logging.getLogger(__name__)

SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "notices" / "sample.json"
MAX_REQUEST_BYTES = 64 * 1024
PAGE_SIZE = 500
BASE_PATH = "/api/v1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS receipt (id TEXT PRIMARY KEY, notice_id TEXT, subject TEXT, action TEXT NOT NULL,
    value TEXT, at TEXT NOT NULL, kiosk_id TEXT NOT NULL, received REAL NOT NULL);
CREATE TABLE IF NOT EXISTS mute (subject TEXT NOT NULL, category TEXT NOT NULL, PRIMARY KEY (subject, category));
CREATE TABLE IF NOT EXISTS snooze (subject TEXT NOT NULL, notice_id TEXT NOT NULL, until REAL NOT NULL,
    PRIMARY KEY (subject, notice_id));
CREATE TABLE IF NOT EXISTS assist (id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, screen TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeat (kiosk_id TEXT NOT NULL, body TEXT NOT NULL, received REAL NOT NULL);
"""
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
RELATIVE_DAYS = re.compile(r"([+-]\d+)d")


def resolve_days(notice: dict, today: date) -> dict:
    """ "+20d" → an ISO date/time 20 days from today (valid_from at 00:00, valid_until at 23:59:59, China time)."""
    out = dict(notice)
    for key in ("valid_from", "valid_until", "deadline"):
        value = out.get(key)
        if isinstance(value, str) and (m := RELATIVE_DAYS.fullmatch(value)):
            day = today + timedelta(days=int(m.group(1)))
            if key == "deadline":
                out[key] = day.isoformat()
            else:
                clock = "00:00:00" if key == "valid_from" else "23:59:59"
                out[key] = f"{day.isoformat()}T{clock}+08:00"
    return out


def load_data(path: Path = SAMPLE, today: date | None = None) -> tuple[list[dict], dict[str, list[dict]]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    today = today or date.today()
    broadcast = [resolve_days(n, today) for n in doc.get("broadcast", [])]
    personal = {ssn: [resolve_days(n, today) for n in items] for ssn, items in doc.get("personal", {}).items()}
    return broadcast, personal


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


Fault = Callable[["Handler"], bool]  # returns True when it answered the request itself


class DemoBackend:
    """API v1 in a thread. `faults[path]` lets a test make one endpoint misbehave."""

    def __init__(
        self,
        folder: Path,
        notices: Path = SAMPLE,
        token: str | None = None,
        port: int = 0,
        page_size: int = PAGE_SIZE,
        tls: TLSMaterial | None = None,
        server_context: ssl.SSLContext | None = None,
    ) -> None:
        self.folder = folder
        self.tls = tls or TLSMaterial(folder)
        self.token = token or secrets.token_urlsafe(24)
        self.token_file = folder / "token"
        self.token_file.write_text(self.token + "\n", encoding="utf-8")
        self.token_file.chmod(0o600)
        self.page_size = page_size
        self.secret = secrets.token_bytes(32)  # subjects are stable for this backend's life only
        self.epoch = secrets.token_hex(4)  # cursors of another backend life are refused with 410
        self.db = sqlite3.connect(folder / "backend.sqlite3", check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.revision = 0
        self.changes: list[tuple[int, str]] = []  # (revision, notice id); the latest change of an id counts
        self.broadcast: dict[str, dict] = {}
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) for tests
        broadcast, self.personal = load_data(notices)
        for notice in broadcast:
            self.publish(notice)
        self.server = _Server(("127.0.0.1", port), Handler, server_context or self.tls.server_context(), self)
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-backend", daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}{BASE_PATH}"

    def start(self) -> DemoBackend:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.db.close()

    # -- data ------------------------------------------------------------------------------
    def publish(self, notice: dict) -> None:
        with self.lock:
            self.revision += 1
            self.broadcast[notice["id"]] = notice
            self.changes.append((self.revision, notice["id"]))

    def delete(self, notice_id: str) -> None:
        with self.lock:
            self.revision += 1
            self.broadcast.pop(notice_id, None)
            self.changes.append((self.revision, notice_id))

    @property
    def etag(self) -> str:
        return f'"r{self.revision}"'

    def page(self, cursor: int) -> dict:
        """Changes after `cursor`, the superseded ones skipped; the cursor names the last change returned."""
        with self.lock:
            latest = {notice_id: rev for rev, notice_id in self.changes}
            pending = [(rev, i) for rev, i in self.changes if rev > cursor and latest[i] == rev]
            taken = pending[: self.page_size]
            notices = [self.broadcast[i] for _, i in taken if i in self.broadcast]
            deleted = [i for _, i in taken if i not in self.broadcast]
            more = len(pending) > len(taken)
            end = taken[-1][0] if more else max(cursor, self.revision)
            return {"notices": notices, "deleted": deleted, "cursor": f"{self.epoch}.{end}", "more": more}

    def subject(self, ssn: str) -> str:
        return hmac.new(self.secret, ssn.encode(), hashlib.sha256).hexdigest()[:32]

    def receipts(self) -> list[tuple]:
        return self.db.execute("SELECT id, notice_id, subject, action, value FROM receipt ORDER BY received").fetchall()

    def assists(self) -> list[tuple]:
        return self.db.execute("SELECT id, kiosk_id, screen FROM assist").fetchall()

    def heartbeats(self) -> list[dict]:
        return [json.loads(b) for (b,) in self.db.execute("SELECT body FROM heartbeat ORDER BY received")]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext, backend: DemoBackend) -> None:
        self.context, self.backend = context, backend
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended badly", client_address, exc_info=True)  # a client hung up: not news

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake in the connection's own thread, so one slow client cannot stall the accept loop.
        try:
            request.settimeout(15)
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # or every answer waits ~40 ms for a delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # -- plumbing --------------------------------------------------------------------------
    def send_json(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        raw = b"" if body is None else _json_bytes(body)
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def error(self, status: int, code: str, message: str) -> None:
        self.send_json(status, {"error": code, "message": message})

    def read_body(self) -> Any:
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            raise _Refused(400, "bad_request", "Content-Length is not a number.")
        if int(length) > MAX_REQUEST_BYTES:
            raise _Refused(413, "too_large", "The request body is larger than 64 KiB.")
        try:
            return json.loads(self.rfile.read(int(length)) or b"null")
        except ValueError:
            raise _Refused(400, "bad_request", "The request body is not JSON.") from None

    def route(self, method: str) -> None:
        backend = self.server.backend
        path = urlsplit(self.path).path
        if not path.startswith(BASE_PATH):
            return self.error(404, "not_found", "No such endpoint.")
        endpoint = path[len(BASE_PATH) :]
        backend.requests.append((method, endpoint))
        fault = backend.faults.get(endpoint)
        if fault is not None and fault(self):
            return None
        if self.headers.get("Authorization") != f"Bearer {backend.token}":
            return self.error(401, "unauthorized", "The kiosk token is missing or wrong.")
        kiosk_id = self.headers.get("X-Kiosk-Id", "")
        if not 1 <= len(kiosk_id) <= 64:
            return self.error(400, "bad_request", "The X-Kiosk-Id header is missing.")
        handler = ROUTES.get((method, endpoint))
        if handler is None:
            return self.error(404, "not_found", "No such endpoint.")
        try:
            return handler(self, backend, kiosk_id)
        except _Refused as e:
            return self.error(e.status, e.code, e.message)

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")


def _json_bytes(body: Any) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate can only travel as a \ud800 escape
        return json.dumps(body).encode()


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------
def get_broadcast(h: Handler, backend: DemoBackend, kiosk_id: str) -> None:
    query = parse_qs(urlsplit(h.path).query)
    cursor_text = query.get("cursor", [f"{backend.epoch}.0"])[0]
    epoch, _, number = cursor_text.partition(".")
    if epoch != backend.epoch or not number.isdigit():
        raise _Refused(410, "cursor_expired", "The cursor is not one this backend gave; sync from the beginning.")
    cursor = int(number)
    etag = backend.etag
    if h.headers.get("If-None-Match") == etag and cursor >= backend.revision:
        h.send_response(304)
        h.send_header("ETag", etag)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return
    h.send_json(200, backend.page(cursor), {"ETag": etag})


def post_personal(h: Handler, backend: DemoBackend, kiosk_id: str) -> None:
    body = h.read_body()
    ssn, card_no = (body.get("ssn"), body.get("card_no")) if isinstance(body, dict) else (None, None)
    if not isinstance(ssn, str) or not re.fullmatch(r"\d{17}[\dX]", ssn) or not isinstance(card_no, str):
        raise _Refused(400, "bad_request", "ssn and card_no are required.")
    subject = backend.subject(ssn)
    now = time.time()
    muted = [c for (c,) in backend.db.execute("SELECT category FROM mute WHERE subject = ?", (subject,))]
    snoozed = [i for (i,) in backend.db.execute("SELECT notice_id FROM snooze WHERE subject = ? AND until > ?",
                                                 (subject, now))]  # fmt: skip
    notices = [
        n for n in backend.personal.get(ssn, [])
        if n["id"] not in snoozed and (n["category"] not in muted or n["priority"] == "urgent")
    ]  # fmt: skip
    h.send_json(200, {"subject": subject, "notices": notices, "muted": muted, "snoozed": snoozed})


def post_receipts(h: Handler, backend: DemoBackend, kiosk_id: str) -> None:
    body = h.read_body()
    receipts = body.get("receipts") if isinstance(body, dict) else None
    if not isinstance(receipts, list) or not 1 <= len(receipts) <= 500:
        raise _Refused(400, "bad_request", "receipts must be a list of 1 to 500.")
    with backend.lock:
        backend.db.execute("BEGIN IMMEDIATE")  # one transaction a batch, not one fsync a receipt
        try:
            accepted = _store_receipts(backend, receipts, kiosk_id)
        except BaseException:
            backend.db.execute("ROLLBACK")
            raise
        backend.db.execute("COMMIT")
    h.send_json(200, {"accepted": accepted})


def _store_receipts(backend: DemoBackend, receipts: list, kiosk_id: str) -> list[str]:
    accepted = []
    now = time.time()
    for r in receipts:
        if not _valid_receipt(r):
            continue
        inserted = backend.db.execute(
            "INSERT OR IGNORE INTO receipt VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r["id"], r["notice_id"], r["subject"], r["action"], r["value"], r["at"], kiosk_id, now),
        ).rowcount
        accepted.append(r["id"])
        if inserted and r["action"] == "mute_category":
            backend.db.execute("INSERT OR IGNORE INTO mute VALUES (?, ?)", (r["subject"], r["value"]))
        elif inserted and r["action"] == "remind_later" and r["notice_id"]:
            days = int(r["value"]) if isinstance(r["value"], str) and r["value"].isdigit() else 1
            backend.db.execute("INSERT OR REPLACE INTO snooze VALUES (?, ?, ?)",
                               (r["subject"], r["notice_id"], now + days * 86400))  # fmt: skip
    return accepted


def _valid_receipt(r: object) -> bool:
    if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not UUID4.fullmatch(r["id"]):
        return False
    if r.get("action") not in ACTIONS or not isinstance(r.get("at"), str):
        return False
    if r["action"] == "mute_category" and r.get("value") not in CATEGORIES:
        return False
    return r["action"] == "rating" or isinstance(r.get("subject"), str)


def post_heartbeat(h: Handler, backend: DemoBackend, kiosk_id: str) -> None:
    body = h.read_body()
    if not isinstance(body, dict) or body.get("kiosk_id") != kiosk_id:
        raise _Refused(400, "bad_request", "The heartbeat must name this kiosk.")
    backend.db.execute("INSERT INTO heartbeat VALUES (?, ?, ?)", (kiosk_id, json.dumps(body), time.time()))
    h.send_json(204)


def post_assist(h: Handler, backend: DemoBackend, kiosk_id: str) -> None:
    body = h.read_body()
    if not isinstance(body, dict) or not isinstance(body.get("screen"), str) or not isinstance(body.get("at"), str):
        raise _Refused(400, "bad_request", "screen and at are required.")
    assist_id = body.get("id") if isinstance(body.get("id"), str) else secrets.token_hex(16)
    backend.db.execute(
        "INSERT OR IGNORE INTO assist VALUES (?, ?, ?, ?)", (assist_id, kiosk_id, body["screen"], body["at"])
    )
    h.send_json(202, {"accepted": True})


ROUTES: dict[tuple[str, str], Callable[[Handler, DemoBackend, str], None]] = {
    ("GET", "/notices/broadcast"): get_broadcast,
    ("POST", "/notices/personal"): post_personal,
    ("POST", "/receipts"): post_receipts,
    ("POST", "/heartbeat"): post_heartbeat,
    ("POST", "/assist"): post_assist,
}


# ---------------------------------------------------------------------------------------------
# Faults a test can put on an endpoint (each answers the request itself and returns True)
# ---------------------------------------------------------------------------------------------
def fail_with(status: int) -> Fault:
    def fault(h: Handler) -> bool:
        h.error(status, "internal", "Injected failure.")
        return True

    return fault


def garbage(h: Handler) -> bool:
    body = b"<html>\x00\xff{"
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
    return True


def oversized(h: Handler) -> bool:
    """A body over 2 MB, streamed without Content-Length: the kiosk must stop reading, not swallow it."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b'{"notices": [' + b" " * 65536
    try:
        for _ in range(64):  # 4 MB
            h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass
    h.close_connection = True
    return True


def slow(seconds: float) -> Fault:
    def fault(h: Handler) -> bool:
        time.sleep(seconds)
        return False

    return fault
