"""What reaches the hall, kept: receipts, mutes, reminders, help requests, heartbeats, staff and their logins.

One class over two databases: SQLite (a file, the default: nothing to install) or PostgreSQL (a province's fleet
on one database server), chosen by the address. The SQL is written once, in the dialect both understand
(`ON CONFLICT`, DOUBLE PRECISION); only the placeholders differ. A connection per thread: the server runs
each request on a worker thread. Every write that a citizen or a member of staff made is committed before the
answer goes back, so a server killed mid-day loses nothing it has said it accepted.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS receipt (id TEXT PRIMARY KEY, notice_id TEXT, subject TEXT, action TEXT NOT NULL,
        value TEXT, at TEXT NOT NULL, kiosk_id TEXT NOT NULL, received DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS receipt_received ON receipt (received)",
    "CREATE TABLE IF NOT EXISTS mute (subject TEXT NOT NULL, category TEXT NOT NULL, PRIMARY KEY (subject, category))",
    """CREATE TABLE IF NOT EXISTS snooze (subject TEXT NOT NULL, notice_id TEXT NOT NULL,
        until DOUBLE PRECISION NOT NULL, PRIMARY KEY (subject, notice_id))""",
    """CREATE TABLE IF NOT EXISTS assist (id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, screen TEXT NOT NULL,
        at TEXT NOT NULL, received DOUBLE PRECISION NOT NULL, acknowledged DOUBLE PRECISION, acknowledged_by TEXT,
        resolved DOUBLE PRECISION, resolved_by TEXT)""",
    "CREATE INDEX IF NOT EXISTS assist_received ON assist (received)",
    "CREATE INDEX IF NOT EXISTS assist_open ON assist (received) WHERE resolved IS NULL",
    """CREATE TABLE IF NOT EXISTS heartbeat (kiosk_id TEXT NOT NULL, body TEXT NOT NULL,
        received DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS heartbeat_received ON heartbeat (received)",
    """CREATE TABLE IF NOT EXISTS kiosk (kiosk_id TEXT PRIMARY KEY, body TEXT NOT NULL,
        received DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS day_count (kiosk_id TEXT NOT NULL, day DOUBLE PRECISION NOT NULL, key TEXT NOT NULL,
        n BIGINT NOT NULL, PRIMARY KEY (kiosk_id, day, key))""",
    "CREATE TABLE IF NOT EXISTS visit (kiosk_id TEXT NOT NULL, received DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS visit_received ON visit (received)",
    """CREATE TABLE IF NOT EXISTS staff (name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS staff_session (token TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL, seen DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS login_failure (name TEXT NOT NULL, address TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (at DOUBLE PRECISION NOT NULL, name TEXT NOT NULL, action TEXT NOT NULL,
        detail TEXT NOT NULL)""",
]
HEARTBEATS_KEPT_S = 7 * 86400  # the log of heartbeats; each kiosk's latest stays for good


@dataclass(frozen=True)
class HelpRequest:
    """A citizen's "请工作人员帮忙", as staff see it: where, on which screen, since when, who took it."""

    id: str
    kiosk_id: str
    screen: str
    received: float
    acknowledged: float | None = None
    acknowledged_by: str | None = None
    resolved: float | None = None
    resolved_by: str | None = None

    @property
    def state(self) -> str:
        if self.resolved is not None:
            return "resolved"
        return "acknowledged" if self.acknowledged is not None else "open"


class HallStore:
    """The hall's database: `sqlite:PATH` (or a bare path) or `postgresql://…`."""

    def __init__(self, address: str | Path) -> None:
        self.address = str(address)
        self.postgres = self.address.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        with self.transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)
            db.execute("DELETE FROM heartbeat WHERE received < ?", (time.time() - HEARTBEATS_KEPT_S,))

    # -- plumbing ----------------------------------------------------------------------------
    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self.postgres:
                import psycopg  # only a fleet server needs it

                connection = psycopg.connect(self.address, autocommit=True)
            else:
                path = self.address.removeprefix("sqlite:")
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")  # what was accepted survives a power cut too
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Db]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        connection = self._connection()
        db = _Db(connection, self.postgres)
        db.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return _Db(self._connection(), self.postgres).execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(Exception):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()

    # -- kiosks ------------------------------------------------------------------------------
    def add_receipts(self, receipts: list[dict], kiosk_id: str, now: float | None = None) -> list[str]:
        """Valid receipts stored once each (by id); mutes and reminders follow from the new ones."""
        now = time.time() if now is None else now
        accepted = []
        with self.transaction() as db:
            for r in receipts:
                inserted = db.execute(
                    "INSERT INTO receipt VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (r["id"], r["notice_id"], r["subject"], r["action"], r["value"], r["at"], kiosk_id, now),
                ).rowcount
                accepted.append(r["id"])
                if inserted and r["action"] == "mute_category":
                    db.execute("INSERT INTO mute VALUES (?, ?) ON CONFLICT DO NOTHING", (r["subject"], r["value"]))
                elif inserted and r["action"] == "remind_later" and r["notice_id"]:
                    days = int(r["value"]) if isinstance(r["value"], str) and r["value"].isdigit() else 1
                    db.execute("INSERT INTO snooze VALUES (?, ?, ?) ON CONFLICT (subject, notice_id) "
                               "DO UPDATE SET until = excluded.until",
                               (r["subject"], r["notice_id"], now + days * 86400))  # fmt: skip
        return accepted

    def muted(self, subject: str) -> list[str]:
        return [c for (c,) in self.rows("SELECT category FROM mute WHERE subject = ?", (subject,))]

    def snoozed(self, subject: str, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        return [i for (i,) in self.rows("SELECT notice_id FROM snooze WHERE subject = ? AND until > ?",
                                        (subject, now))]  # fmt: skip

    def add_visit(self, kiosk_id: str) -> None:
        """A citizen's card read at a kiosk (its personal notices asked for): the day's sessions count these."""
        with self.transaction() as db:
            db.execute("INSERT INTO visit VALUES (?, ?)", (kiosk_id, time.time()))

    def add_help(self, help_id: str, kiosk_id: str, screen: str, at: str) -> bool:
        """A help request, once by id (a kiosk resends until it hears back); True when it is new."""
        row = (help_id, kiosk_id, screen, at, time.time())
        with self.transaction() as db:
            return bool(db.execute("INSERT INTO assist (id, kiosk_id, screen, at, received) VALUES (?, ?, ?, ?, ?) "
                                   "ON CONFLICT DO NOTHING", row).rowcount)  # fmt: skip

    def help_request(self, help_id: str) -> HelpRequest | None:
        found = self.rows(f"SELECT {HELP_COLUMNS} FROM assist WHERE id = ?", (help_id,))
        return HelpRequest(*found[0]) if found else None

    def help_requests(self, since: float = 0.0, open_only: bool = False) -> list[HelpRequest]:
        """Newest first."""
        where = "received >= ?" + (" AND resolved IS NULL" if open_only else "")
        found = self.rows(f"SELECT {HELP_COLUMNS} FROM assist WHERE {where} ORDER BY received DESC", (since,))
        return [HelpRequest(*row) for row in found]

    def answer_help(self, help_id: str, name: str, state: str) -> bool:
        """Staff took it (acknowledged) or finished it (resolved); the first to do so is the one kept."""
        column = {"acknowledged": "acknowledged", "resolved": "resolved"}[state]
        now = time.time()
        with self.transaction() as db:
            changed = db.execute(f"UPDATE assist SET {column} = ?, {column}_by = ? WHERE id = ? AND {column} IS NULL",
                                 (now, name, help_id)).rowcount  # fmt: skip
            if changed and state == "resolved":  # resolved without a word first: it was taken then, by the same
                db.execute("UPDATE assist SET acknowledged = ?, acknowledged_by = ? WHERE id = ? AND acknowledged "
                           "IS NULL", (now, name, help_id))  # fmt: skip
            return bool(changed)

    def add_heartbeat(self, kiosk_id: str, body: dict, counts: dict[str, int], day: float) -> None:
        """The kiosk's state, and what it counted since its last heartbeat added to its figures of `day`."""
        text, now = json.dumps(body, ensure_ascii=False), time.time()
        with self.transaction() as db:
            for key, n in counts.items():
                db.execute("INSERT INTO day_count VALUES (?, ?, ?, ?) ON CONFLICT (kiosk_id, day, key) DO UPDATE "
                           "SET n = day_count.n + excluded.n", (kiosk_id, day, key, n))  # fmt: skip
            db.execute("INSERT INTO heartbeat VALUES (?, ?, ?)", (kiosk_id, text, now))
            db.execute("INSERT INTO kiosk VALUES (?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE SET body = excluded.body, "
                       "received = excluded.received", (kiosk_id, text, now))  # fmt: skip

    def heartbeats(self) -> list[dict]:
        return [json.loads(b) for (b,) in self.rows("SELECT body FROM heartbeat ORDER BY received")]

    def kiosks(self) -> list[tuple[str, dict, float]]:
        """Each kiosk's latest heartbeat: (id, body, received)."""
        return [(k, json.loads(b), r) for k, b, r in self.rows("SELECT kiosk_id, body, received FROM kiosk "
                                                                "ORDER BY kiosk_id")]  # fmt: skip

    def receipts(self) -> list[tuple]:
        return self.rows("SELECT id, notice_id, subject, action, value FROM receipt ORDER BY received, id")

    def day_counts(self, since: float) -> dict[str, dict[str, int]]:
        """Per kiosk since `since`: sessions, ratings by value, help requests, and what its heartbeats counted."""
        counts: dict[str, dict[str, int]] = {}

        def add(kiosk_id: str, key: str, n: int) -> None:
            counts.setdefault(kiosk_id, {})[key] = counts.get(kiosk_id, {}).get(key, 0) + n

        for kiosk_id, n in self.rows("SELECT kiosk_id, COUNT(*) FROM visit WHERE received >= ? GROUP BY kiosk_id",
                                     (since,)):  # fmt: skip
            add(kiosk_id, "sessions", n)
        for kiosk_id, value, n in self.rows("SELECT kiosk_id, value, COUNT(*) FROM receipt WHERE action = 'rating' "
                                            "AND received >= ? GROUP BY kiosk_id, value", (since,)):  # fmt: skip
            add(kiosk_id, f"rating_{value}", n)
        for kiosk_id, n in self.rows("SELECT kiosk_id, COUNT(*) FROM assist WHERE received >= ? GROUP BY kiosk_id",
                                     (since,)):  # fmt: skip
            add(kiosk_id, "help", n)
        for kiosk_id, key, n in self.rows("SELECT kiosk_id, key, SUM(n) FROM day_count WHERE day >= ? "
                                          "GROUP BY kiosk_id, key", (since,)):  # fmt: skip
            add(kiosk_id, key, int(n))
        return counts

    # -- staff -------------------------------------------------------------------------------
    def put_staff(self, name: str, role: str, password_hash: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO staff VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, "
                       "password = excluded.password", (name, role, password_hash, time.time()))  # fmt: skip
            db.execute("DELETE FROM staff_session WHERE name = ?", (name,))  # a new password signs every browser out

    def staff(self, name: str) -> tuple[str, str] | None:
        """(role, password hash) of an account."""
        found = self.rows("SELECT role, password FROM staff WHERE name = ?", (name,))
        return (found[0][0], found[0][1]) if found else None

    def staff_names(self) -> list[tuple[str, str]]:
        return [(n, r) for n, r in self.rows("SELECT name, role FROM staff ORDER BY name")]

    def login_failures(self, name: str, address: str, since: float) -> tuple[int, int]:
        """Wrong passwords since `since`: for this name (from anywhere), and from this address (for any name)."""
        by_name = self.rows("SELECT COUNT(*) FROM login_failure WHERE name = ? AND at >= ?", (name, since))[0][0]
        by_address = self.rows("SELECT COUNT(*) FROM login_failure WHERE address = ? AND at >= ?",
                               (address, since))[0][0]  # fmt: skip
        return by_name, by_address

    def add_login_failure(self, name: str, address: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO login_failure VALUES (?, ?, ?)", (name, address, time.time()))

    def open_staff_session(self, token_hash: str, name: str, csrf: str) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute("INSERT INTO staff_session VALUES (?, ?, ?, ?, ?)", (token_hash, name, csrf, now, now))

    def staff_session(self, token_hash: str, idle_s: float) -> tuple[str, str, str] | None:
        """(name, role, csrf token) of a live session, its last use now; None once idle longer than `idle_s`."""
        now = time.time()
        found = self.rows("SELECT s.name, staff.role, s.csrf, s.seen FROM staff_session s JOIN staff "
                          "ON staff.name = s.name WHERE s.token = ?", (token_hash,))  # fmt: skip
        if not found:
            return None
        name, role, csrf, seen = found[0]
        with self.transaction() as db:
            if now - seen > idle_s:
                db.execute("DELETE FROM staff_session WHERE token = ?", (token_hash,))
                return None
            db.execute("UPDATE staff_session SET seen = ? WHERE token = ?", (now, token_hash))
        return name, role, csrf

    def close_staff_session(self, token_hash: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM staff_session WHERE token = ?", (token_hash,))

    def audit(self, name: str, action: str, detail: str = "") -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (time.time(), name, action, detail))

    def audit_entries(self, limit: int = 200) -> list[tuple[float, str, str, str]]:
        return [tuple(r) for r in self.rows("SELECT at, name, action, detail FROM audit ORDER BY at DESC LIMIT ?",
                                            (limit,))]  # fmt: skip


HELP_COLUMNS = "id, kiosk_id, screen, received, acknowledged, acknowledged_by, resolved, resolved_by"


class _Db:
    """A connection with `?` placeholders on both databases."""

    def __init__(self, connection: Any, postgres: bool) -> None:
        self.connection, self.postgres = connection, postgres

    def execute(self, sql: str, params: tuple = ()) -> Any:
        if self.postgres:
            return self.connection.execute(sql.replace("?", "%s"), params)
        return self.connection.execute(sql, params)
