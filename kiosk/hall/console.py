"""The hall staff's console in a browser: help requests as they come, the fleet of kiosks, the day's figures.

Pages are drawn on the server (Jinja2, escaped) and redrawn live: the browser keeps one server-sent-events
stream open and each event carries a part of the page drawn again. Staff log in with a name and a password
(scrypt, like the kiosks' staff PINs); the session is a random token in a `__Host-` cookie (Secure, HttpOnly,
SameSite=Strict) kept server-side, so a logout or an idle timeout ends it for good; every form carries the
session's CSRF token. Nothing personal is here: kiosks never send names, numbers or subjects to this side.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kiosk.hall.api import since_midnight
from kiosk.hall.store import HallStore, HelpRequest
from kiosk.staff import ADMIN, CLERK, hash_secret, pin_matches
from kiosk.staff import PRINTER_STATES as KIOSK_PRINTER_STATES

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "__Host-hall_session"  # the browser keeps it for this host, over HTTPS, path / only
LOGIN_COOKIE = "__Host-hall_login"  # the login form's CSRF pair, before there is a session
HEARTBEAT_S = 60.0  # the kiosks' own interval (kiosk/sync.py)
OFFLINE_AFTER_S = 3 * HEARTBEAT_S  # three heartbeats missed
STALE_AFTER_S = 24 * 3600  # DESIGN §6: broadcast notices older than this are flagged
LOGIN_WINDOW_S = 15 * 60
LOGIN_TRIES = 5  # wrong passwords a name may be given in the window
ADDRESS_TRIES = 20  # and one address may give, for any names (the hall's staff PC is shared: not 5)
MIN_PASSWORD = 10
REDRAW_S = 10.0  # waiting times and online/offline change with the clock alone
FLEET_EVERY_S = 2.0  # heartbeats of a large fleet redraw the fleet at most this often
SHARED_S = 1.0  # the fleet and figures drawn for one console serve the others asking within this
FINE_LISTED = 100  # a larger fleet lists its troubled kiosks and counts the fine ones
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
PARTS = ("help", "fleet", "figures")
ERROR_RATE_BUDGET = 0.01
SCREENS = {  # kiosk screen names (kiosk/session.py Screen) as staff say them
    "attract": "等待插卡", "reading": "读卡中", "pin": "输入密码", "notices": "消息列表", "detail": "消息详情",
    "goodbye": "取卡", "card_problem": "卡片问题", "pin_blocked": "密码锁定", "card_expired": "卡已过期",
    "no_reader": "读卡器故障", "no_service": "服务中断",
}  # fmt: skip
STATES = {  # reader, PSAM (docs/api.yaml Heartbeat) and voice states as staff say them
    "ok": "正常", "no_reader": "无读卡器", "no_service": "读卡服务中断", "unknown": "未知", "not_configured": "未配置",
    "absent": "未插入", "wrong_application": "卡片不符", "locked": "未解锁", "unreadable": "无法读取", "ready": "正常",
    "starting": "启动中", "no_voice": "缺少语音", "no_audio_device": "无声卡", "off": "已关闭",
}  # fmt: skip
# The receipt printer's states (docs/api.yaml Heartbeat printer) in the kiosk's staff panel's Chinese words.
PRINTER_STATES = {state: words.split(" ")[0] for state, (words, _) in KIOSK_PRINTER_STATES.items()}
PRINTER_FINE = ("not_configured", "ready")  # paper_low still prints, but someone should bring a roll: troubled


class Live:
    """Tells every open console what changed; callable from any thread (the API's workers)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[str]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def changed(self, part: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._tell, part)

    def _tell(self, part: str) -> None:
        for queue in self._queues:
            queue.put_nowait(part)

    @contextlib.contextmanager
    def listen(self) -> Any:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


@dataclass(frozen=True)
class Staff:
    name: str
    role: str
    csrf: str


class Console:
    def __init__(self, store: HallStore, live: Live, places: dict[str, str], session_idle_s: float) -> None:
        self.store, self.live, self.places = store, live, places
        self.session_idle_s = session_idle_s
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
        self.templates.filters["ago"] = ago
        self.templates.globals |= {"screens": SCREENS, "states": STATES, "printer_states": PRINTER_STATES}
        self.templates.filters["clock"] = lambda t: time.strftime("%H:%M:%S", time.localtime(t)) if t else ""
        self._shared_lock = threading.Lock()
        self._shared: dict[str, str] = {}
        self._shared_at = 0.0

    def app(self) -> Starlette:
        routes = [
            Route("/", self.page(self.home)),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.form(self.logout), methods=["POST"]),
            Route("/events", self.events),
            Route("/help/{help_id}/{state}", self.form(self.answer), methods=["POST"]),
            Route("/accounts", self.page(self.accounts, role=ADMIN), methods=["GET"]),
            Route("/accounts", self.form(self.add_account, role=ADMIN), methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        app = Starlette(routes=routes)

        async def with_headers(scope: dict, receive: Callable, send: Callable) -> None:
            async def sending(message: dict) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                await send(message)

            await app(scope, receive, sending)

        return with_headers  # type: ignore[return-value]

    # -- who is asking --------------------------------------------------------------------------
    def staff_of(self, request: Request) -> Staff | None:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        found = self.store.staff_session(_digest(token), self.session_idle_s)
        return Staff(*found) if found else None

    def page(self, draw: Callable[[Request, Staff], Response], role: str = CLERK) -> Callable:
        """A page for staff: to the login form without a live session, refused for a role below `role`."""

        def endpoint(request: Request) -> Response:
            staff = self.staff_of(request)
            if staff is None:
                expired = COOKIE in request.cookies
                return RedirectResponse("/login?expired=1" if expired else "/login", status_code=303)
            if role == ADMIN and staff.role != ADMIN:
                return self.render("denied.html", staff, status=403, reason="这一页只有管理员可以打开。")
            return draw(request, staff)

        return endpoint

    def form(self, act: Callable[[Request, Staff, dict], Response], role: str = CLERK) -> Callable:
        """A form post: a live session, the role, and the session's CSRF token in the form, or refused."""

        async def endpoint(request: Request) -> Response:
            fields = dict(await request.form())
            return await run_in_threadpool(self._checked, request, fields, act, role)

        return endpoint

    def _checked(self, request: Request, fields: dict, act: Callable, role: str) -> Response:
        staff = self.staff_of(request)
        if staff is None:
            return RedirectResponse("/login?expired=1", status_code=303)
        if not hmac.compare_digest(str(fields.get("csrf", "")), staff.csrf):
            log.warning("a form without this session's CSRF token was refused (%s)", request.url.path)
            return self.render("denied.html", staff, status=403, reason="这个表单已失效，请刷新页面后再试。")
        if role == ADMIN and staff.role != ADMIN:
            return self.render("denied.html", staff, status=403, reason="这项操作只有管理员可以做。")
        return act(request, staff, fields)

    def render(self, name: str, staff: Staff | None, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(staff=staff, **values)
        return HTMLResponse(html, status_code=status)

    # -- logging in and out ---------------------------------------------------------------------
    def login_page(self, request: Request, message: str = "", status: int = 200) -> Response:
        if not message and request.query_params.get("expired"):
            message = "登录已过期，请重新登录。"
        pair = secrets.token_urlsafe(24)
        response = self.render("login.html", None, status=status, message=message, csrf=pair)
        response.set_cookie(LOGIN_COOKIE, pair, secure=True, httponly=True, samesite="strict", path="/")
        return response

    async def login(self, request: Request) -> Response:
        fields = dict(await request.form())
        return await run_in_threadpool(self._login, request, fields)

    def _login(self, request: Request, fields: dict) -> Response:
        name, password = str(fields.get("name", ""))[:64], str(fields.get("password", ""))[:256]
        pair = request.cookies.get(LOGIN_COOKIE, "")
        if not pair or not hmac.compare_digest(str(fields.get("csrf", "")), pair):
            return self.login_page(request, "登录表单已失效，请再试一次。", status=403)
        address = request.client.host if request.client else ""
        by_name, by_address = self.store.login_failures(name, address, time.time() - LOGIN_WINDOW_S)
        if by_name >= LOGIN_TRIES or by_address >= ADDRESS_TRIES:
            return self.login_page(request, "密码错误次数过多，请15分钟后再试。", status=429)
        account = self.store.staff(name)
        if account is None or not pin_matches(password, account[1]):
            self.store.add_login_failure(name, address)
            self.store.audit(name, "login_refused", address)
            return self.login_page(request, "用户名或密码不对，请再试一次。", status=401)
        token = secrets.token_urlsafe(32)
        self.store.open_staff_session(_digest(token), name, secrets.token_urlsafe(24))
        self.store.audit(name, "login", address)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, secure=True, httponly=True, samesite="strict", path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    def logout(self, request: Request, staff: Staff, fields: dict) -> Response:
        self.store.close_staff_session(_digest(request.cookies.get(COOKIE, "")))
        self.store.audit(staff.name, "logout")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    # -- the console ----------------------------------------------------------------------------
    def home(self, request: Request, staff: Staff) -> Response:
        return self.render("console.html", staff, **self.parts())

    def parts(self, wanted: Collection[str] = PARTS, now: float | None = None) -> dict[str, Any]:
        """What the page shows, worked out for the first draw and each live redraw (only the parts `wanted`:
        a new help request must not wait for a fleet of 2,000 to be worked out)."""
        now = time.time() if now is None else now
        today = since_midnight(now)
        values: dict[str, Any] = {"now": now, "waiting": [], "fleet": [], "fine_unlisted": 0, "figures": {}}
        if "help" in wanted:  # every request still open, yesterday's too: someone is still waiting
            values["waiting"] = [(r, self.places.get(r.kiosk_id, "")) for r in self.store.help_requests(open_only=True)]
        if "figures" in wanted:
            values["figures"] = self.figures(today, self.store.help_requests(since=today))
        if "fleet" in wanted:
            fleet = self.fleet(now)
            troubled = [k for k in fleet if k["problems"]]
            fine = len(fleet) - len(troubled)
            values["fleet"] = fleet if len(fleet) <= FINE_LISTED else troubled
            values["fine_unlisted"] = 0 if len(fleet) <= FINE_LISTED else fine
        return values

    def fleet(self, now: float) -> list[dict[str, Any]]:
        """Every kiosk that ever sent a heartbeat, or has a place set: the troubled ones first."""
        seen = {kiosk_id: (body, received) for kiosk_id, body, received in self.store.kiosks()}
        rows = []
        for kiosk_id in sorted(set(seen) | set(self.places)):
            body, received = seen.get(kiosk_id, ({}, None))
            last_sync = _epoch(body.get("last_sync"))
            row = {
                "kiosk_id": kiosk_id, "place": self.places.get(kiosk_id, ""), "received": received,
                "online": received is not None and now - received <= OFFLINE_AFTER_S,
                "reader": str(body.get("reader", "unknown")), "psam": str(body.get("psam", "not_configured")),
                "voice": str(body.get("voice", "unknown")), "outbox": body.get("outbox_depth"),
                "printer": str(body.get("printer", "not_configured")),
                "last_sync": last_sync, "stale": last_sync is None or now - last_sync > STALE_AFTER_S,
                "version": str(body.get("version", "")),
            }  # fmt: skip
            row["problems"] = [
                words for flag, words in ((not row["online"], "离线"), (row["stale"], "数据超过24小时未更新"),
                                          (row["reader"] != "ok", "读卡器异常"),
                                          (row["psam"] not in ("ready", "not_configured"), "PSAM异常"),
                                          (row["printer"] not in PRINTER_FINE,
                                           "打印机" + PRINTER_STATES.get(row["printer"], row["printer"])))
                if flag
            ]  # fmt: skip
            rows.append(row)
        return sorted(rows, key=lambda r: (not r["problems"], r["kiosk_id"]))

    def figures(self, today: float, requests: list[HelpRequest]) -> dict[str, Any]:
        counts = self.store.day_counts(today)
        kiosks = sorted(set(counts) | set(self.places))
        by_kiosk: dict[str, list[HelpRequest]] = {"": requests}  # "" is the whole hall
        for r in requests:
            by_kiosk.setdefault(r.kiosk_id, []).append(r)
        rows = []
        for kiosk_id in [*kiosks, ""]:
            mine = by_kiosk.get(kiosk_id, [])
            if kiosk_id:
                c = counts.get(kiosk_id, {})
            else:
                c = {}
                for each in counts.values():
                    for key, n in each.items():
                        c[key] = c.get(key, 0) + n
            waits = [r.acknowledged - r.received for r in mine if r.acknowledged is not None]
            rated = sum(c.get(f"rating_{v}", 0) for v in ("good", "ok", "bad"))
            rows.append({
                "kiosk_id": kiosk_id, "place": self.places.get(kiosk_id, "全厅" if not kiosk_id else ""),
                "sessions": c.get("sessions", 0), "good": c.get("rating_good", 0), "ok": c.get("rating_ok", 0),
                "bad": c.get("rating_bad", 0), "rated": rated, "help": len(mine),
                "wait": statistics.median(waits) if waits else None,
                "card_errors": rate(c, "card_errors", "card_reads"),
                "network_errors": rate(c, "network_errors", "network_calls"),
            })  # fmt: skip
        hall = rows[-1]
        chart = {"labels": ["好", "一般", "不好"], "values": [hall["good"], hall["ok"], hall["bad"]]}
        return {"rows": rows, "chart": json.dumps(chart, ensure_ascii=False)}

    def answer(self, request: Request, staff: Staff, fields: dict) -> Response:
        state = request.path_params["state"]
        help_id = request.path_params["help_id"]
        if state not in ("acknowledged", "resolved"):
            return self.render("denied.html", staff, status=404, reason="没有这个操作。")
        if self.store.answer_help(help_id, staff.name, state):
            self.store.audit(staff.name, f"help_{state}", help_id)
            self.live.changed("help")
        return RedirectResponse("/", status_code=303)

    def accounts(self, request: Request, staff: Staff, message: str = "", status: int = 200) -> Response:
        return self.render("accounts.html", staff, status=status, accounts=self.store.staff_names(),
                           audit=self.store.audit_entries(), message=message)  # fmt: skip

    def add_account(self, request: Request, staff: Staff, fields: dict) -> Response:
        name, role, password = (str(fields.get(k, "")) for k in ("name", "role", "password"))
        if not 1 <= len(name) <= 64 or role not in (ADMIN, CLERK) or len(password) < MIN_PASSWORD:
            return self.accounts(request, staff, f"请填写用户名、角色和至少{MIN_PASSWORD}位的密码。", status=400)
        self.store.put_staff(name, role, hash_secret(password))
        self.store.audit(staff.name, "account_set", f"{name} {role}")
        return self.accounts(request, staff, f"已保存账号 {name}。")

    # -- live ------------------------------------------------------------------------------------
    async def events(self, request: Request) -> Response:
        if await run_in_threadpool(self.staff_of, request) is None:
            return Response("登录已过期", status_code=401)
        return StreamingResponse(self._stream(request), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})  # fmt: skip

    async def _stream(self, request: Request) -> AsyncIterator[bytes]:
        """Each change drawn as it comes, a help request at once; the fleet's and the figures' changes (a heartbeat
        every few milliseconds from a large fleet) gathered and drawn at most every FLEET_EVERY_S; everything
        every REDRAW_S, as waiting times and online/offline change with the clock alone."""
        with self.live.listen() as queue:
            yield b"retry: 2000\n\n"
            pending: set[str] = set()
            last_fleet = last_all = time.monotonic()
            while True:
                now = time.monotonic()
                due = last_all + REDRAW_S
                if pending:
                    due = min(due, last_fleet + FLEET_EVERY_S)
                with contextlib.suppress(TimeoutError):
                    pending.add(await asyncio.wait_for(queue.get(), max(0.0, due - now)))
                while not queue.empty():
                    pending.add(queue.get_nowait())
                now = time.monotonic()
                if now - last_all >= REDRAW_S:
                    pending |= set(PARTS)
                drawn = pending if now - last_fleet >= FLEET_EVERY_S else pending & {"help"}
                if not drawn:
                    continue
                pending = pending - drawn
                staff = await run_in_threadpool(self.staff_of, request)
                if staff is None:
                    yield b"event: expired\ndata: {}\n\n"
                    return
                html = await run_in_threadpool(self._draw, drawn, staff)
                if drawn & {"fleet", "figures"}:
                    last_fleet = now
                if drawn == set(PARTS):
                    last_all = now
                for part, fragment in html.items():
                    yield f"event: {part}\ndata: {json.dumps(fragment, ensure_ascii=False)}\n\n".encode()

    def _draw(self, changed: set[str], staff: Staff) -> dict[str, str]:
        """The changed parts as HTML. The help list carries this browser's CSRF token, so it is drawn for each;
        the fleet and the figures are the same for every console, drawn once for all that ask within SHARED_S
        (a wall screen and the staff PCs redraw together; 2,000 kiosks take some 100 ms to draw)."""
        html = {}
        if "help" in changed:
            html["help"] = self._render("help", staff, self.parts({"help"}))
        shared = [part for part in ("fleet", "figures") if part in changed]
        if shared:
            with self._shared_lock:
                fresh = self._shared if time.monotonic() - self._shared_at < SHARED_S else {}
                missing = [part for part in shared if part not in fresh]
                if missing:
                    values = self.parts(missing)
                    drawn = {part: self._render(part, staff, values) for part in missing}
                    if not fresh:
                        self._shared_at = time.monotonic()
                    self._shared = {**fresh, **drawn}
                html.update((part, self._shared[part]) for part in shared)
        return html

    def _render(self, part: str, staff: Staff, values: dict[str, Any]) -> str:
        return self.templates.get_template(f"{part}.html").render(staff=staff, **values)


def rate(counts: dict[str, int], failed: str, tried: str) -> dict[str, Any] | None:
    """A failure rate for the day's figures, flagged above the bureau's 1 % (seed 003); None before any try."""
    if not counts.get(tried):
        return None
    share = counts.get(failed, 0) / counts[tried]
    return {"text": f"{share:.1%}", "of": counts[tried], "high": share > ERROR_RATE_BUDGET}


def _digest(token: str) -> str:
    """Sessions are kept by the token's hash: a copy of the database opens no browser's session."""
    return hashlib.sha256(token.encode()).hexdigest()


def _epoch(text: object) -> float | None:
    from datetime import datetime

    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def ago(seconds: float | None) -> str:
    """How long ago / how long, as staff say it: 45秒, 3分钟, 2小时."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}秒"
    if seconds < 3600:
        return f"{seconds // 60}分钟"
    return f"{seconds // 3600}小时{seconds % 3600 // 60}分"
