"""The broadcast cache: notices for everyone, the sync cursor and ETag, kept so the kiosk serves offline.

Holds nothing personal. A corrupt file is set aside and the cache rebuilt by the next sync.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

from kiosk.notices import Audience, Notice, prefixes_of, region_prefix
from kiosk.storage import Store

log = logging.getLogger(__name__)

STALE_AFTER_S = 24 * 3600  # the seeds' data-delay threshold
# A notice is kept as the fields it was validated into, not as its JSON: encoding each notice's JSON for the
# file and parsing and validating it again on every start were half of a first sync's and a start's Python.
# Beside them, what the window's query needs as columns SQLite compares (issue 30): the rank and its index, the
# span as POSIX times, and the region prefixes the audience covers (",11,1101,"). Reading and ranking all 10,000
# in the window's process took 270 ms of its Python after each sync; a page of them from SQLite takes 3.
# A file of version 2 keeps its notices and is given these columns (_add_ranking_columns), one of version 3 the
# `bring` column (_add_bring_column); both then sync every notice again, keeping theirs on screen meanwhile. An
# older one has its notices synced again from the start.
SCHEMA_VERSION = 4
NOTICE_TABLE = """
CREATE TABLE IF NOT EXISTS notice (
    id TEXT PRIMARY KEY, version INTEGER NOT NULL, category TEXT NOT NULL, priority TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, speak TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT NOT NULL,
    deadline TEXT, min_age INTEGER, max_age INTEGER, regions TEXT, action_url TEXT NOT NULL,
    rank TEXT NOT NULL, starts REAL NOT NULL, ends REAL NOT NULL, covers TEXT, bring TEXT NOT NULL DEFAULT ''
)"""
NOTICE_INDEX = "CREATE INDEX IF NOT EXISTS notice_by_rank ON notice (rank)"
V3_COLUMNS = (  # what a file of version 2 or 3 holds of a notice
    "id, version, category, priority, title, body, speak, valid_from, valid_until, deadline, "
    "min_age, max_age, regions, action_url"
)
NOTICE_COLUMNS = f"{V3_COLUMNS}, bring"  # bring: the things, one a line (each is one line)
WRITTEN_COLUMNS = f"{NOTICE_COLUMNS}, rank, starts, ends, covers"
WRITTEN_MARKS = ", ".join("?" * len(WRITTEN_COLUMNS.split(",")))
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reload_seen (id TEXT PRIMARY KEY);
"""


def is_stale(last_sync: float | None, now: float | None = None) -> bool:
    """No sync for more than a day (or never): the screens say the notices may be out of date."""
    return last_sync is None or (now if now is not None else time.time()) - last_sync > STALE_AFTER_S


def notice_row(notice: Notice, sent: dict) -> tuple:
    """A broadcast notice as a row of the notice table: its times as the backend sent them (they parsed, and
    writing them out again was a tenth of a sync), its deadline as ISO (so it reads back one way), its audience as
    three columns, regions joined by ","; then the columns the window's query compares."""
    audience = notice.audience
    regions = audience.regions if audience else ()
    covers = f",{','.join(region_prefix(code) for code in regions)}," if regions else None
    return (
        notice.id, notice.version, notice.category, notice.priority, notice.title, notice.body, notice.speak,
        sent["valid_from"], sent["valid_until"], notice.deadline.isoformat() if notice.deadline else None,
        *((audience.min_age, audience.max_age, ",".join(audience.regions)) if audience else (None, None, None)),
        notice.action_url, "\n".join(notice.bring), notice.rank, *notice.posix_span, covers,
    )  # fmt: skip


def row_notice(row: tuple) -> Notice:
    """The notice a row holds. Raises ValueError or TypeError for a row no sync wrote (a damaged file)."""
    notice_id, version, category, priority, title, body, speak, start, end, deadline, low, high, regions, url = row[:14]
    bring = row[14]
    return Notice(
        id=notice_id, version=version, category=category, priority=priority, title=title, body=body, speak=speak,
        valid_from=datetime.fromisoformat(start), valid_until=datetime.fromisoformat(end),
        deadline=date.fromisoformat(deadline) if deadline else None,
        audience=None if regions is None else Audience(low, high, tuple(regions.split(",")) if regions else ()),
        action_url=url, bring=tuple(bring.split("\n")) if bring else (),
    )  # fmt: skip


def readable(rows: Iterable[tuple]) -> list[Notice]:
    """The notices of `rows`; one no sync wrote (a damaged file) is left out, and said by id."""
    out = []
    for row in rows:
        try:
            out.append(row_notice(row))
        except (ValueError, TypeError, AttributeError) as e:
            log.warning("cached notice %r unreadable (%s); left out", str(row[0])[:64], type(e).__name__)
    return out


def shown_to(
    now: float,
    age: int | None = None,
    region: str | None = None,
    muted: Iterable[str] = (),
    left_out: Iterable[str] = (),
) -> tuple[str, list]:
    """kiosk.notices.ranked's rules as a WHERE clause and its parameters (tests/test_cache.py holds the two to
    the same answers): current, meant for this age and region (no card: for everyone), not of a muted category
    unless urgent, not one of `left_out` (snoozed, or the cardholder's own notice of that id)."""
    where, params = ["starts <= ? AND ? <= ends"], [now, now]
    if age is None:
        where.append("min_age IS NULL AND max_age IS NULL")
    else:
        where.append("(min_age IS NULL OR min_age <= ?) AND (max_age IS NULL OR max_age >= ?)")
        params += [age, age]
    if region is None:
        where.append("covers IS NULL")
    else:
        prefixes = prefixes_of(region)
        where.append(f"(covers IS NULL OR {' OR '.join(['instr(covers, ?) > 0'] * len(prefixes))})")
        params += [f",{prefix}," for prefix in prefixes]
    # One parameter a list, however long (a backend's list of snoozed ids is not bounded by SQLite's variables).
    muted, left_out = sorted(set(muted)), sorted(set(left_out))
    if muted:
        where.append("(priority = 'urgent' OR category NOT IN (SELECT value FROM json_each(?)))")
        params.append(json.dumps(muted))
    if left_out:
        where.append("id NOT IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(left_out))
    return " AND ".join(where), params


class BroadcastCache(Store):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)
        # Each page commits with its cursor, so a power cut can only lose the last pages, which the next sync
        # asks for again: no fsync a page (FULL is for receipts, which the kiosk promised it kept).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.rebuilt = self.aside is not None  # the next sync starts from the beginning
        version = self.query("PRAGMA user_version")[0][0]
        if version == 2:
            self._add_ranking_columns()
        elif version == 3:
            self._add_bring_column()
        elif version != SCHEMA_VERSION:
            self._make_notice_table()

    def notices(self) -> list[Notice]:
        """Every cached notice, in no order (staff's commands and the tests; the window asks CachedNotices)."""
        return readable(self.query(f"SELECT {NOTICE_COLUMNS} FROM notice"))

    def count(self) -> int:
        return self.query("SELECT COUNT(*) FROM notice")[0][0]

    def _add_ranking_columns(self) -> None:
        """A file of version 2 (the columns, not the ranking's): its notices kept, and the ranking's worked out
        from them, so a hall kiosk updated offline still shows what it had, with its cursor."""
        with self.transaction() as db:
            rows = db.execute(f"SELECT {V3_COLUMNS} FROM notice").fetchall()
            notices = {notice.id: notice for notice in readable([(*row, "") for row in rows])}  # unreadable: left out
            sent = {row[0]: {"valid_from": row[7], "valid_until": row[8]} for row in rows}
            kept = [notice_row(notice, sent[notice.id]) for notice in notices.values()]
            db.execute("DROP TABLE notice")
            db.execute(NOTICE_TABLE)
            db.execute(NOTICE_INDEX)
            db.executemany(f"INSERT INTO notice ({WRITTEN_COLUMNS}) VALUES ({WRITTEN_MARKS})", kept)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.start_reload()  # and `bring`, which it did not keep
        log.info("broadcast cache: %d notices given the ranking's columns (version 2 → %d)", len(kept), SCHEMA_VERSION)

    def _add_bring_column(self) -> None:
        """A file of version 3 (no `bring`): its notices kept on screen, and all of them asked for again (a backend
        may have sent `bring` before this kiosk kept it), the same versions written over this once."""
        with self.transaction() as db:
            db.execute("ALTER TABLE notice ADD COLUMN bring TEXT NOT NULL DEFAULT ''")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.start_reload()
        log.info("broadcast cache: the bring column added (version 3 → %d); reloading", SCHEMA_VERSION)

    def _make_notice_table(self) -> None:
        """A new file, or one an older kiosk wrote: the notice table as this version keeps it, synced afresh."""
        with self.transaction() as db:
            db.execute("DROP TABLE IF EXISTS notice")
            db.execute(NOTICE_TABLE)
            db.execute(NOTICE_INDEX)
            db.execute("DELETE FROM meta WHERE key IN ('cursor', 'etag')")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.rebuilt = True

    def apply_page(
        self, upserts: Iterable[tuple[Notice, dict]], deleted: Iterable[str], cursor: str
    ) -> tuple[int, int, int]:
        """One page of a sync, atomically with its cursor. Returns (new, updated, deleted)."""
        new = updated = removed = 0
        upserts = list(upserts)
        reloading = self.reloading
        with self.transaction() as db:
            ids = [notice.id for notice, _ in upserts]
            known: dict[str, int] = {}
            for start in range(0, len(ids), 900):  # one query a slice (SQLite's variable limit), not one a notice
                chunk = ids[start : start + 900]
                marks = ",".join("?" * len(chunk))
                known.update(db.execute(f"SELECT id, version FROM notice WHERE id IN ({marks})", chunk).fetchall())
            rows = []
            for notice, sent in upserts:
                before = known.get(notice.id)
                if before is not None and (before > notice.version or (before == notice.version and not reloading)):
                    continue  # a reload writes the same version over (what an older kiosk did not keep)
                known[notice.id] = notice.version  # a page naming one notice twice keeps its newest
                rows.append(notice_row(notice, sent))
                if before is None:
                    new += 1
                elif before < notice.version:
                    updated += 1
            db.executemany(f"INSERT OR REPLACE INTO notice ({WRITTEN_COLUMNS}) VALUES ({WRITTEN_MARKS})", rows)
            for notice_id in deleted:
                removed += db.execute("DELETE FROM notice WHERE id = ?", (notice_id,)).rowcount
            if reloading:
                db.executemany("INSERT OR IGNORE INTO reload_seen VALUES (?)", [(n.id,) for n, _ in upserts])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (cursor,))
        return new, updated, removed

    def start_reload(self) -> None:
        """The backend forgot our cursor: sync everything again from the beginning, keeping the old notices
        on screen until the new set is complete (an interrupted reload starts over next time)."""
        with self.transaction() as db:
            db.execute("DELETE FROM reload_seen")
            db.execute("DELETE FROM meta WHERE key IN ('cursor', 'etag')")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('reloading', '1')")

    @property
    def reloading(self) -> bool:
        return self._meta("reloading") == "1"

    def finish_reload(self) -> int:
        """The full set is in: drop what it did not contain. Returns how many were dropped."""
        with self.transaction() as db:
            dropped = db.execute("DELETE FROM notice WHERE id NOT IN (SELECT id FROM reload_seen)").rowcount
            db.execute("DELETE FROM reload_seen")
            db.execute("DELETE FROM meta WHERE key = 'reloading'")
        return dropped

    def synced(self, etag: str | None, at: float | None = None) -> None:
        """A sync reached the newest state: remember its ETag and when."""
        with self.transaction() as db:
            if etag is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('etag', ?)", (etag,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_sync', ?)", (str(at if at else time.time()),))

    def _meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    @property
    def cursor(self) -> str | None:
        return self._meta("cursor")

    @property
    def etag(self) -> str | None:
        return self._meta("etag")

    @property
    def last_sync(self) -> float | None:
        value = self._meta("last_sync")
        return float(value) if value else None

    def stale(self, now: float | None = None) -> bool:
        return is_stale(self.last_sync, now)


class CachedNotices:
    """The broadcast cache as the kiosk's window process reads it: read-only, while the network worker
    (kiosk/network_worker.py) writes it, and only what a screen shows (a page of a ranked list, how many there are).
    A file not made yet, or one the worker is setting aside, reads as empty until the worker says it is ready."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the session's thread and the window's ask alike; reopen() closes

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            if self._db is None:
                if not self.path.exists():
                    return []
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=10)
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:  # replaced under us (set aside when corrupt), or an older file
                log.warning("the broadcast cache cannot be read (%s); reading it again after the next sync", e)
                self._db.close()
                self._db = None
                return []

    def reopen(self) -> None:
        """After the worker made the file again (set aside when corrupt): that is another file, which an open
        connection would not see."""
        self.close()

    def ranked(
        self,
        now: float,
        limit: int | None,
        age: int | None = None,
        region: str | None = None,
        muted: Iterable[str] = (),
        left_out: Iterable[str] = (),
    ) -> list[Notice]:
        """The first `limit` (None: all) broadcast notices a citizen sees, most urgent first (kiosk.notices.ranked
        in SQL: see shown_to). No card: the notices for everyone."""
        where, params = shown_to(now, age, region, muted, left_out)
        sql = f"SELECT {NOTICE_COLUMNS} FROM notice WHERE {where} ORDER BY rank LIMIT ?"
        return readable(self._query(sql, [*params, -1 if limit is None else limit]))

    def count(
        self,
        now: float,
        age: int | None = None,
        region: str | None = None,
        muted: Iterable[str] = (),
        left_out: Iterable[str] = (),
    ) -> int:
        """How many ranked() would give with no limit."""
        where, params = shown_to(now, age, region, muted, left_out)
        rows = self._query(f"SELECT COUNT(*) FROM notice WHERE {where}", params)
        return rows[0][0] if rows else 0

    def notices(self) -> list[Notice]:
        """Every cached notice, in no order (staff's commands and the tests)."""
        return readable(self._query(f"SELECT {NOTICE_COLUMNS} FROM notice"))

    @property
    def last_sync(self) -> float | None:
        rows = self._query("SELECT value FROM meta WHERE key = 'last_sync'")
        return float(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def cache_of(path: Path, notices: Iterable[tuple[Notice, dict]]) -> CachedNotices:
    """A broadcast cache holding `notices` (as kiosk.notices.parse_notices gives them), read as the window reads
    it: for the screenshots and the tests, which drive a session with no network worker."""
    writer = BroadcastCache(path)
    writer.apply_page(notices, (), "")
    writer.synced(None)
    writer.close()
    return CachedNotices(path)
