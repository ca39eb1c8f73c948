"""The outbox: the citizen's feedback and help requests, kept durably until the backend has them, exactly once.

Each item gets a uuid4 when the citizen acts; the backend deduplicates by it, so an item is
sent until the backend names its id as accepted, and only then deleted. Payloads are
encrypted at rest (AES-GCM, key file readable only by the kiosk user) and hold only the
opaque per-session `subject`, never a name or a number.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.notices import CATEGORIES
from kiosk.storage import Store, salvage_rows

log = logging.getLogger(__name__)

ACTIONS = ("read", "mute_category", "remind_later", "rating")
RECEIPT, ASSIST = "receipt", "assist"
SCHEMA = """
CREATE TABLE IF NOT EXISTS item (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS undeliverable (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL, payload BLOB NOT NULL, reason TEXT NOT NULL);
"""


class OutboxError(ValueError):
    """The outbox cannot be opened; the message says what to do."""


@dataclass(frozen=True)
class OutboxItem:
    id: str
    kind: str
    payload: dict


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load_key(path: Path) -> bytes:
    """The outbox key; made on first use, readable by the kiosk user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole to a temp file, then linked into place: a power cut leaves no empty key behind.
        key = AESGCM.generate_key(bit_length=256)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".outbox-key-")
        with os.fdopen(fd, "wb") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # fails if another process made the key meanwhile: theirs wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = path.read_bytes()
    if len(key) != 32:
        raise OutboxError(f"{path} is not a 32-byte outbox key; move it aside to start a new outbox")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return key


class Outbox(Store):
    def __init__(self, path: Path, key_path: Path) -> None:
        self._aead = AESGCM(load_key(key_path))
        super().__init__(path, SCHEMA)
        self._held: list[tuple[str, str, float, bytes]] = []
        self._held_aside: list[tuple[str, str, float, bytes, str]] = []  # refused while the disk refused writes
        self.disk_error = ""
        if self.aside is not None:
            rows = salvage_rows(self.aside, "SELECT id, kind, created, payload FROM item")
            with self.transaction() as db:
                db.executemany("INSERT OR IGNORE INTO item VALUES (?, ?, ?, ?)", rows)
            log.error("outbox rebuilt: %d items salvaged from the corrupt file", len(rows))

    def add_receipt(
        self, notice_id: str | None, subject: str | None, action: str, value: str | None,
        receipt_id: str | None = None, at: str | None = None,
    ) -> str:  # fmt: skip
        """Queue one receipt; one the backend could never accept is refused here, not queued forever. The id and
        time the citizen's tap was given (the window's process names them): the same id again is the same one."""
        if action not in ACTIONS:
            raise ValueError(f"unknown receipt action {action!r}")
        if action != "rating" and not subject:
            raise ValueError("only a rating goes without the session's subject")
        if action == "mute_category" and value not in CATEGORIES:
            raise ValueError(f"mute_category needs a category, not {value!r}")
        receipt_id = receipt_id or str(uuid.uuid4())
        payload = {"id": receipt_id, "notice_id": notice_id, "subject": subject, "action": action,
                   "value": value, "at": at or now_iso()}  # fmt: skip
        self._add(receipt_id, RECEIPT, payload)
        return receipt_id

    def add_assist(self, kiosk_id: str, screen: str, assist_id: str | None = None, at: str | None = None) -> str:
        assist_id = assist_id or str(uuid.uuid4())
        self._add(assist_id, ASSIST, {"id": assist_id, "kiosk_id": kiosk_id, "screen": screen, "at": at or now_iso()})
        return assist_id

    def _add(self, item_id: str, kind: str, payload: dict) -> None:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(payload).encode(), f"{item_id}:{kind}".encode())
        with self._lock:
            self._held.append((item_id, kind, time.time(), sealed))
            self._write_held()

    def _write_held(self) -> None:
        """Items wait in memory while the disk refuses them (full, failing) and are written once it takes them:
        a full disk costs a citizen's feedback nothing unless the kiosk also loses power meanwhile."""
        with self._lock:
            if not self._held and not self._held_aside:
                return
            try:
                with self.transaction() as db:
                    db.executemany("INSERT OR IGNORE INTO item VALUES (?, ?, ?, ?)", self._held)
                    db.executemany("INSERT OR REPLACE INTO undeliverable VALUES (?, ?, ?, ?, ?)", self._held_aside)
            except (sqlite3.OperationalError, OSError) as e:
                if not self.disk_error:
                    log.error("outbox cannot write to %s (%s): %d items held in memory", self.path, e, self.held())
                self.disk_error = str(e)
                return
            if self.disk_error:
                log.warning("outbox writes again: %d items held in memory are on disk", self.held())
            self._held.clear()
            self._held_aside.clear()
            self.disk_error = ""

    def close(self) -> None:
        self._write_held()  # the disk may take them now; if not, say what is lost (a restart, a shutdown)
        if self.held():
            log.error("outbox closed with %d items the disk never took: they are lost", self.held())
        super().close()

    def held(self) -> int:
        """Items waiting in memory for the disk (0 but while it refuses writes)."""
        return len(self._held) + len(self._held_aside)

    def pending(self, kind: str, limit: int = 500) -> list[OutboxItem]:
        """The oldest items of `kind`; one that cannot be opened is moved to `undeliverable`."""
        self._write_held()
        rows = self.query(
            "SELECT id, kind, created, payload FROM item WHERE kind = ? ORDER BY created LIMIT ?", (kind, limit)
        )
        with self._lock:  # still held in memory (the disk refuses them): they go out all the same
            rows += [row for row in self._held if row[1] == kind][: max(0, limit - len(rows))]
        out = []
        for item_id, item_kind, created, sealed in rows:
            try:
                plain = self._aead.decrypt(sealed[:12], sealed[12:], f"{item_id}:{item_kind}".encode())
                out.append(OutboxItem(item_id, item_kind, json.loads(plain)))
            except (InvalidTag, ValueError, TypeError) as e:
                log.error("outbox item %s cannot be opened (%s); kept aside", item_id, type(e).__name__)
                with self.transaction() as db:
                    db.execute("INSERT OR REPLACE INTO undeliverable VALUES (?, ?, ?, ?, ?)",
                               (item_id, item_kind, created, sealed, type(e).__name__))  # fmt: skip
                    db.execute("DELETE FROM item WHERE id = ?", (item_id,))
        return out

    def set_aside(self, ids: list[str], reason: str) -> None:
        """Items the backend will not take: out of the queue, kept for staff to see, never resent."""
        with self._lock:  # one still held in memory leaves the queue too, or the flush would post it forever
            gone = set(ids)
            self._held_aside += [(*row, reason) for row in self._held if row[0] in gone]
            self._held = [row for row in self._held if row[0] not in gone]
            with self.transaction() as db:
                for item_id in ids:
                    db.execute("INSERT OR REPLACE INTO undeliverable SELECT id, kind, created, payload, ? FROM item "
                               "WHERE id = ?", (reason, item_id))  # fmt: skip
                    db.execute("DELETE FROM item WHERE id = ?", (item_id,))
            self._write_held()

    def delivered(self, ids: list[str]) -> None:
        """The backend has these: forget them (and only these)."""
        with self._lock:
            gone = set(ids)
            self._held = [row for row in self._held if row[0] not in gone]
        with self.transaction() as db:
            db.executemany("DELETE FROM item WHERE id = ?", [(i,) for i in ids])

    def depth(self) -> int:
        return self.query("SELECT count(*) FROM item")[0][0] + len(self._held)

    def undeliverable(self) -> int:
        return self.query("SELECT count(*) FROM undeliverable")[0][0] + len(self._held_aside)
