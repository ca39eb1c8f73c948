"""API v1 for the kiosks (DESIGN §5), on its own port: broadcast notices, personal notices, receipts,
heartbeats, help requests, and the state of a help request (so the kiosk can tell the citizen staff are coming).

Every request needs the hall's kiosk token and an X-Kiosk-Id; a staff cookie means nothing here, and the
console's pages are not on this port at all. `faults[endpoint]` lets a test make one endpoint misbehave.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from kiosk.hall.store import HallStore
from kiosk.notices import CATEGORIES
from kiosk.outbox import ACTIONS

log = logging.getLogger(__name__)

SAMPLE = Path(__file__).resolve().parent.parent.parent / "assets" / "notices" / "sample.json"
MAX_REQUEST_BYTES = 64 * 1024
PAGE_SIZE = 500
BASE_PATH = "/api/v1"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
HELP_ID = re.compile(r"[0-9A-Za-z-]{8,64}")
RELATIVE_DAYS = re.compile(r"([+-]\d+)d")

Fault = Callable[[Request], Awaitable[Response | None]]  # an answer of its own, or None to go on as usual


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


class NoticeBook:
    """The notices this hall serves: broadcast ones with a change log that cursors page through, and the
    sample's personal ones by ssn. Cursors of another server life are refused (410), so a kiosk syncs afresh."""

    def __init__(self, notices: Path = SAMPLE, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size
        self.lock = threading.Lock()
        self.revision = 0
        self.epoch = secrets.token_hex(4)
        self.changes: list[tuple[int, str]] = []  # (revision, notice id); the latest change of an id counts
        self.broadcast: dict[str, dict] = {}
        self.secret = secrets.token_bytes(32)  # subjects are stable for this server's life only
        broadcast, self.personal = load_data(notices)
        for notice in broadcast:
            self.publish(notice)

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


@dataclass
class KioskApi:
    """What the kiosks' port needs: the store, the notices, the token, and whom to tell of a new help request."""

    store: HallStore
    book: NoticeBook
    token: str
    on_change: Callable[[str], None] = lambda what: None  # "help", "fleet", "figures": the console redraws
    faults: dict[str, Fault] = field(default_factory=dict)
    # (method, endpoint) of the latest calls, for tests; bounded, as a server up for months must not grow
    requests: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=10_000))

    def app(self) -> Starlette:
        return Starlette(routes=[Route(BASE_PATH + "/{endpoint:path}", self.route, methods=["GET", "POST"])])

    async def route(self, request: Request) -> Response:
        endpoint = "/" + request.path_params["endpoint"]
        self.requests.append((request.method, endpoint))
        fault = self.faults.get(endpoint)
        answer = await fault(request) if fault is not None else None
        if answer is not None and answer is not LOSE_ANSWER:
            return answer
        response = await self._serve(request, endpoint)
        return _lost(response) if answer is LOSE_ANSWER else response

    async def _serve(self, request: Request, endpoint: str) -> Response:
        if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self.token}"):
            return error(401, "unauthorized", "The kiosk token is missing or wrong.")
        kiosk_id = request.headers.get("X-Kiosk-Id", "")
        if not 1 <= len(kiosk_id) <= 64:
            return error(400, "bad_request", "The X-Kiosk-Id header is missing.")
        name = endpoint.split("/")[1] if endpoint.startswith("/assist/") else endpoint
        handler = ROUTES.get((request.method, "/assist/" if name == "assist" else endpoint))
        if handler is None:
            return error(404, "not_found", "No such endpoint.")
        try:
            body = await read_body(request) if request.method == "POST" else None
            return await run_in_threadpool(handler, self, Call(kiosk_id, endpoint, request, body))
        except Refused as e:
            return error(e.status, e.code, e.message)


@dataclass(frozen=True)
class Call:
    """One kiosk request, as the endpoint functions see it."""

    kiosk_id: str
    endpoint: str
    request: Request
    body: Any


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    raw = b"" if body is None else json_bytes(body)
    kind = "application/json; charset=utf-8" if body is not None else None
    return Response(raw, status_code=status, headers=headers, media_type=kind)


def error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": code, "message": message})


def json_bytes(body: Any) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate can only travel as a \ud800 escape
        return json.dumps(body).encode()


async def read_body(request: Request) -> Any:
    length = request.headers.get("Content-Length", "0")
    if not length.isdigit():
        raise Refused(400, "bad_request", "Content-Length is not a number.")
    if int(length) > MAX_REQUEST_BYTES:
        raise Refused(413, "too_large", "The request body is larger than 64 KiB.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_REQUEST_BYTES:
            raise Refused(413, "too_large", "The request body is larger than 64 KiB.")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise Refused(400, "bad_request", "The request body is not JSON.") from None


# ---------------------------------------------------------------------------------------------
# Endpoints (on a worker thread: the store blocks)
# ---------------------------------------------------------------------------------------------
def get_broadcast(api: KioskApi, call: Call) -> Response:
    book = api.book
    cursor_text = call.request.query_params.get("cursor", f"{book.epoch}.0")
    epoch, _, number = cursor_text.partition(".")
    if epoch != book.epoch or not number.isdigit():
        raise Refused(410, "cursor_expired", "The cursor is not one this backend gave; sync from the beginning.")
    cursor = int(number)
    etag = book.etag
    if call.request.headers.get("If-None-Match") == etag and cursor >= book.revision:
        return Response(status_code=304, headers={"ETag": etag})
    return json_response(200, book.page(cursor), {"ETag": etag})


def post_personal(api: KioskApi, call: Call) -> Response:
    body = call.body
    ssn, card_no = (body.get("ssn"), body.get("card_no")) if isinstance(body, dict) else (None, None)
    if not isinstance(ssn, str) or not re.fullmatch(r"\d{17}[\dX]", ssn) or not isinstance(card_no, str):
        raise Refused(400, "bad_request", "ssn and card_no are required.")
    subject = api.book.subject(ssn)
    muted, snoozed = api.store.muted(subject), api.store.snoozed(subject)
    notices = [
        n for n in api.book.personal.get(ssn, [])
        if n["id"] not in snoozed and (n["category"] not in muted or n["priority"] == "urgent")
    ]  # fmt: skip
    api.store.add_visit(call.kiosk_id)
    api.on_change("figures")
    return json_response(200, {"subject": subject, "notices": notices, "muted": muted, "snoozed": snoozed})


def post_receipts(api: KioskApi, call: Call) -> Response:
    receipts = call.body.get("receipts") if isinstance(call.body, dict) else None
    if not isinstance(receipts, list) or not 1 <= len(receipts) <= 500:
        raise Refused(400, "bad_request", "receipts must be a list of 1 to 500.")
    accepted = api.store.add_receipts([r for r in receipts if valid_receipt(r)], call.kiosk_id)
    if accepted:
        api.on_change("figures")
    return json_response(200, {"accepted": accepted})


def valid_receipt(r: object) -> bool:
    if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not UUID4.fullmatch(r["id"]):
        return False
    if r.get("action") not in ACTIONS or not isinstance(r.get("at"), str):
        return False
    if r["action"] == "mute_category" and r.get("value") not in CATEGORIES:
        return False
    if r["action"] == "rating" and r.get("value") not in ("good", "ok", "bad"):
        return False
    r.setdefault("notice_id", None)
    r.setdefault("value", None)
    r.setdefault("subject", None)
    return r["action"] == "rating" or isinstance(r.get("subject"), str)


COUNTED = ("card_reads", "card_errors", "network_calls", "network_errors")  # what a heartbeat's counts may carry


def post_heartbeat(api: KioskApi, call: Call) -> Response:
    body = call.body
    if not isinstance(body, dict) or body.get("kiosk_id") != call.kiosk_id:
        raise Refused(400, "bad_request", "The heartbeat must name this kiosk.")
    counts = body.get("counts") or {}
    if not isinstance(counts, dict) or not all(
        key in COUNTED and type(n) is int and 0 <= n <= 1_000_000 for key, n in counts.items()
    ):
        raise Refused(400, "bad_request", f"counts must map {', '.join(COUNTED)} to whole numbers.")
    api.store.add_heartbeat(call.kiosk_id, body, counts, since_midnight())
    api.on_change("fleet")
    if counts:
        api.on_change("figures")
    return json_response(204)


def post_assist(api: KioskApi, call: Call) -> Response:
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("screen"), str) or not isinstance(body.get("at"), str):
        raise Refused(400, "bad_request", "screen and at are required.")
    help_id = body.get("id")
    if not isinstance(help_id, str) or not HELP_ID.fullmatch(help_id):
        help_id = secrets.token_hex(16)
    if api.store.add_help(help_id, call.kiosk_id, body["screen"][:40], body["at"][:40]):
        api.on_change("help")
    return json_response(202, {"accepted": True, "id": help_id})


def get_assist(api: KioskApi, call: Call) -> Response:
    """Whether staff have taken this kiosk's help request: the kiosk asks every few seconds while it waits."""
    found = api.store.help_request(call.endpoint.removeprefix("/assist/"))
    if found is None or found.kiosk_id != call.kiosk_id:  # another kiosk's request is none of this one's business
        raise Refused(404, "not_found", "No such help request (not delivered yet?).")
    return json_response(200, {"id": found.id, "state": found.state})


ROUTES: dict[tuple[str, str], Callable[[KioskApi, Call], Response]] = {
    ("GET", "/notices/broadcast"): get_broadcast,
    ("POST", "/notices/personal"): post_personal,
    ("POST", "/receipts"): post_receipts,
    ("POST", "/heartbeat"): post_heartbeat,
    ("POST", "/assist"): post_assist,
    ("GET", "/assist/"): get_assist,
}


# ---------------------------------------------------------------------------------------------
# Faults a test can put on an endpoint
# ---------------------------------------------------------------------------------------------
def fail_with(status: int) -> Fault:
    async def fault(request: Request) -> Response | None:
        return error(status, "internal", "Injected failure.")

    return fault


async def garbage(request: Request) -> Response | None:
    return Response(b"<html>\x00\xff{", media_type="application/json")


async def oversized(request: Request) -> Response | None:
    """A body over 2 MB, streamed without Content-Length: the kiosk must stop reading, not swallow it."""

    async def chunks() -> Any:
        yield b'{"notices": ['
        for _ in range(64):  # 4 MB
            yield b" " * 65536

    return StreamingResponse(chunks(), media_type="application/json")


LOSE_ANSWER = Response(status_code=599)  # a fault's word: serve the request, then lose the answer on the way


async def answer_lost(request: Request) -> Response | None:
    """The request is stored, then the connection breaks in the middle of the answer."""
    return LOSE_ANSWER


def _lost(response: Response) -> Response:
    async def broken() -> Any:
        yield response.body[:5]
        raise ConnectionResetError("the answer was lost on the way (an injected fault)")

    return StreamingResponse(broken(), status_code=response.status_code, media_type="application/json")


def slow(seconds: float) -> Fault:
    async def fault(request: Request) -> Response | None:
        await asyncio.sleep(seconds)
        return None

    return fault


def since_midnight(now: float | None = None) -> float:
    """The start of today, in the server's local time: the day's figures count from here."""
    local = time.localtime(time.time() if now is None else now)
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
