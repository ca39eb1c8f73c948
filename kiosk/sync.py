"""The backend client (API v1 over verified HTTPS) and the sync of broadcast notices, personal notices and the outbox.

Every failure becomes a BackendError with one plain sentence; nothing here ever blocks the
citizen: the kiosk calls it from worker threads and shows what it has meanwhile.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
import orjson
import requests

from kiosk import __version__
from kiosk.cache import BroadcastCache
from kiosk.config import Config
from kiosk.notices import InvalidNotice, PersonalNotices, checked_personal, parse_notices, personal_notices
from kiosk.outbox import ASSIST, RECEIPT, Outbox

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 3.0, 10.0
HEARTBEAT_S = 60.0
HEARTBEAT_DEVICES = ("reader", "psam", "voice", "printer")  # the parts of a kiosk the hall console shows
MAX_BODY_BYTES = 2 * 1024 * 1024
RECEIPTS_PER_POST = 150  # worst case ~350 bytes a receipt: stays under the backend's 64 KiB request limit


class BackendError(Exception):
    """The backend could not be reached, trusted or understood. `kind` is for code, the message for people."""

    def __init__(self, kind: str, sentence: str) -> None:
        super().__init__(sentence)
        self.kind = kind


@dataclass(frozen=True)
class BackendSettings:
    url: str
    ca_file: str = ""
    token: str = ""
    kiosk_id: str = "kiosk-01"
    client_cert: str = ""
    client_key: str = ""
    allow_loopback_http: bool = False

    @classmethod
    def from_config(cls, config: Config) -> BackendSettings:
        def path(key: str) -> str:
            found = config.file(key)
            return str(found) if found else ""

        return cls(
            url=config["backend.url"],
            ca_file=path("backend.ca_file"),
            token=config.token(),
            kiosk_id=config["kiosk.id"],
            client_cert=path("backend.client_cert"),
            client_key=path("backend.client_key"),
            allow_loopback_http=config["demo.allow_loopback_http"],
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Failures the hall counts as the network's (its "network error rate"): not a 404 while a help request is still
# in the outbox, not a token refused (a set-up fault, shown on its own).
NETWORK_FAULTS = ("unreachable", "untrusted", "server_error")


class Tally:
    """What the hall's day figures are made of (card reads and network calls, and how many failed), counted since
    the last heartbeat the hall accepted. Counts only: nothing of a card or a citizen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def take(self) -> dict[str, int]:
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts

    def give_back(self, counts: dict[str, int]) -> None:
        for key, n in counts.items():
            self.add(key, n)


class Backend:
    """API v1. One requests.Session (kept-alive connections); TLS verified on every request."""

    def __init__(self, settings: BackendSettings) -> None:
        parts = urlsplit(settings.url)
        if parts.scheme == "http":
            if not (settings.allow_loopback_http and is_loopback(parts.hostname or "")):
                raise BackendError("refused", "Plain HTTP is refused: the backend URL must start with https://.")
        elif parts.scheme != "https":
            raise BackendError("refused", "The backend URL must start with https://.")
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.session = requests.Session()
        # Nothing from the environment: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or a proxy must never change
        # what the kiosk trusts or where it connects. No CA configured: the certifi bundle, explicitly.
        self.session.trust_env = False
        if settings.ca_file and not Path(settings.ca_file).is_file():
            raise BackendError("untrusted", f"The configured CA file {settings.ca_file} does not exist.")
        self.verify: str = settings.ca_file or certifi.where()
        self.cert = (settings.client_cert, settings.client_key) if settings.client_cert else None
        self.tally = Tally()
        self.network_restarts = 0  # times the kiosk started its network worker again (kiosk/network.py)

    def close(self) -> None:
        self.session.close()

    def call(
        self, method: str, path: str, body: dict | None = None, params: dict | None = None, etag: str | None = None
    ) -> tuple[int, Mapping[str, str], Any]:
        """One request; returns (status, headers, parsed JSON or None). Raises BackendError."""
        self.tally.add("network_calls")
        try:
            return self._request(method, path, body, params, etag)
        except BackendError as e:
            if e.kind in NETWORK_FAULTS:
                self.tally.add("network_errors")
            raise

    def _request(
        self, method: str, path: str, body: dict | None, params: dict | None, etag: str | None
    ) -> tuple[int, Mapping[str, str], Any]:
        headers = {"X-Kiosk-Id": self.settings.kiosk_id, "Accept": "application/json"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        if etag:
            headers["If-None-Match"] = etag
        try:
            response = self.session.request(
                method, self.base + path, json=body, params=params, headers=headers, stream=True,
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), verify=self.verify, cert=self.cert,
                allow_redirects=False,
            )  # fmt: skip
            with response:
                raw = _read_capped(response)
        except requests.exceptions.SSLError as e:
            raise BackendError("untrusted", _tls_sentence(str(e))) from None
        except requests.exceptions.Timeout:
            raise BackendError(
                "unreachable", f"The backend did not answer within {READ_TIMEOUT_S:g} seconds."
            ) from None
        except requests.exceptions.ConnectionError:
            host = urlsplit(self.base).netloc
            raise BackendError("unreachable", f"The backend at {host} cannot be reached.") from None
        except requests.exceptions.RequestException as e:
            raise BackendError("unreachable", f"The request to the backend failed ({type(e).__name__}).") from None
        except OSError as e:  # e.g. the CA or client certificate file vanished or is unreadable
            raise BackendError("untrusted", f"The kiosk's TLS files cannot be read ({e.strerror}).") from None
        status = response.status_code
        if status == 410:
            raise BackendError("cursor_expired", "The backend no longer knows the kiosk's sync cursor.")
        if status == 401 or status == 403:
            raise BackendError("refused", "The backend refused this kiosk's token.")
        if status >= 500:
            raise BackendError("server_error", f"The backend had an error ({status}); it will be tried again.")
        if status >= 400 or (300 <= status < 400 and status != 304):
            raise BackendError("bad_answer", f"The backend answered {status} to {method} {path}.")
        try:
            data = _json(raw) if raw else None
        except (UnicodeDecodeError, ValueError):
            raise BackendError("bad_answer", f"The backend's answer to {path} is not JSON.") from None
        return status, response.headers, data  # case-insensitive, as HTTP headers are (uvicorn sends "etag")

    # -- API v1 ----------------------------------------------------------------------------
    def personal(self, ssn: str, card_no: str) -> PersonalNotices:
        """The cardholder's notices (validated here; the network worker passes on the answer it validated)."""
        return personal_notices(self.personal_answer(ssn, card_no))

    def personal_answer(self, ssn: str, card_no: str) -> dict:
        """The backend's answer for the cardholder, checked (kiosk.notices.checked_personal); BackendError."""
        _, _, data = self.call("POST", "/notices/personal", {"ssn": ssn, "card_no": card_no})
        try:
            return checked_personal(data)
        except InvalidNotice as e:
            raise BackendError("bad_answer", str(e)) from None

    def heartbeat(
        self, last_sync: float | None, outbox_depth: int, uptime_s: float, devices: Mapping[str, str | None]
    ) -> None:
        """The kiosk's state for the hall: `devices` holds reader, psam, voice and printer (a None is left out)."""
        at = datetime.fromtimestamp(last_sync, UTC).isoformat(timespec="seconds") if last_sync else None
        body: dict = {"kiosk_id": self.settings.kiosk_id, "version": __version__, "reader": "unknown",
                      "psam": "not_configured", "last_sync": at, "outbox_depth": outbox_depth,
                      "uptime_s": round(uptime_s, 1)}  # fmt: skip
        body |= {part: state for part, state in devices.items() if part in HEARTBEAT_DEVICES and state is not None}
        if self.network_restarts:
            body["network_restarts"] = self.network_restarts
        counts = self.tally.take()
        if counts:
            body["counts"] = counts
        try:
            self.call("POST", "/heartbeat", body)
        except BackendError as e:
            if e.kind in NETWORK_FAULTS:  # the next heartbeat carries them: the hall's error rate loses none
                self.tally.give_back(counts)
            raise


def _read_capped(response: requests.Response) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BackendError("bad_answer", "The backend's answer is larger than 2 MB and was refused.")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BackendError("bad_answer", "The backend's answer is larger than 2 MB and was refused.")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    """orjson, 2.5 times json on a page of notices; json where orjson is stricter (a lone surrogate escape, NaN, a
    huge integer), so that what it refuses is judged notice by notice as before, not as a whole page."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _tls_sentence(error: str) -> str:
    text = error.lower()
    if "hostname mismatch" in text or "ip address mismatch" in text or "doesn't match" in text:
        return "The backend's certificate is for another host: it is not trusted."
    if "expired" in text:
        return "The backend's certificate has expired: it is not trusted (check the kiosk's clock too)."
    if "self-signed" in text or "self signed" in text or "unable to get local issuer" in text:
        return "The backend's certificate is not signed by the configured CA: it is not trusted."
    if "certificate verify failed" in text:
        return "The backend's certificate could not be verified: it is not trusted."
    return "The TLS connection to the backend failed."


# ---------------------------------------------------------------------------------------------
# Broadcast sync and outbox flush
# ---------------------------------------------------------------------------------------------
@dataclass
class SyncReport:
    new: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    not_modified: bool = False
    pages: int = 0
    receipts_sent: int = 0
    assists_sent: int = 0


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a sync runs: a sync makes few cycles (refcounting frees its pages), and
    the collector walking each page's notices and JSON, pass after pass, took a tenth of a first sync of 10,000 on
    a slow core (bench/sync.py --slow 3: 2716 → 2464 ms). The collector's next pass after it takes what there is."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def sync_broadcast(backend: Backend, cache: BroadcastCache, report: SyncReport | None = None) -> SyncReport:
    """Page through the changes since the cached cursor; each page lands atomically with its cursor.

    The next page is fetched while this one is validated and stored: waiting for the network and then for the
    processor, one after the other, made a first sync of 10,000 notices 2.5 times a bare download.
    """
    report = report or SyncReport()
    if cache.reloading:  # an earlier full reload was interrupted: start it over
        cache.start_reload()
    cursor = None if cache.rebuilt else cache.cursor
    etag = cache.etag if cursor else None

    def fetch(cursor: str | None, etag: str | None) -> tuple[int, Mapping[str, str], Any]:
        return backend.call("GET", "/notices/broadcast", params={"cursor": cursor} if cursor else None, etag=etag)

    with ThreadPoolExecutor(1, thread_name_prefix="sync-page") as fetcher, cycle_collector_paused():
        coming = fetcher.submit(fetch, cursor, etag)  # If-None-Match belongs to the first request only
        for _ in range(10_000):  # a backend that says "more" forever is broken; stop somewhere
            try:
                status, headers, page = coming.result()
            except BackendError as e:
                if e.kind != "cursor_expired" or cursor is None:
                    raise
                log.warning("the backend forgot our cursor: syncing everything again from the beginning")
                cache.start_reload()
                cursor = None
                coming = fetcher.submit(fetch, None, None)
                continue
            if status == 304:
                report.not_modified = report.pages == 0
                cache.synced(None)
                return report
            if (
                not isinstance(page, dict)
                or not isinstance(page.get("cursor"), str)
                or not isinstance(page.get("more"), bool)
            ):
                raise BackendError("bad_answer", "The backend's broadcast page lacks its cursor.")
            if not isinstance(page.get("notices"), list) or not isinstance(page.get("deleted", []), list):
                raise BackendError("bad_answer", "The backend's broadcast page is malformed.")
            if page["more"]:
                coming = fetcher.submit(fetch, page["cursor"], None)
            upserts, skipped = parse_notices(page["notices"])
            for line in skipped:
                log.warning("broadcast notice skipped: %s", line)
            report.skipped += skipped
            deleted = [i for i in page.get("deleted", []) if isinstance(i, str)]
            new, updated, removed = cache.apply_page(upserts, deleted, page["cursor"])
            report.new += new
            report.updated += updated
            report.deleted += removed
            report.pages += 1
            cursor = page["cursor"]
            cache.rebuilt = False
            if not page["more"]:
                if cache.reloading:
                    report.deleted += cache.finish_reload()
                cache.synced(headers.get("ETag"))
                return report
    raise BackendError("bad_answer", "The backend kept saying there is more; the sync stopped.")


def flush_outbox(backend: Backend, outbox: Outbox, report: SyncReport | None = None) -> SyncReport:
    """Send what the outbox holds; delete each item only once the backend has named it accepted.

    Help requests go first: a citizen waiting for staff must not wait behind feedback.
    """
    report = report or SyncReport()
    for item in outbox.pending(ASSIST):
        backend.call("POST", "/assist", item.payload)
        outbox.delivered([item.id])
        report.assists_sent += 1
    while items := outbox.pending(RECEIPT, RECEIPTS_PER_POST):
        _, _, data = backend.call("POST", "/receipts", {"receipts": [i.payload for i in items]})
        sent = {i.id for i in items}
        accepted = [a for a in (data or {}).get("accepted", []) if a in sent] if isinstance(data, dict) else []
        outbox.delivered(accepted)
        report.receipts_sent += len(accepted)
        refused = [i.id for i in items if i.id not in set(accepted)]
        if refused:
            # The backend answered and left these out: it will not take them. Kept aside, never resent.
            outbox.set_aside(refused, "refused by the backend")
            log.error("%d receipts refused by the backend; kept aside", len(refused))
    return report


# ---------------------------------------------------------------------------------------------
# The background worker
# ---------------------------------------------------------------------------------------------
class Backoff:
    """Exponential backoff with full jitter, so a hall of kiosks does not retry in step."""

    def __init__(self, base_s: float = 5.0, cap_s: float = 300.0) -> None:
        self.base_s, self.cap_s, self.failures = base_s, cap_s, 0

    def next_delay(self) -> float:
        self.failures += 1
        return random.uniform(self.base_s / 2, min(self.cap_s, self.base_s * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


class SyncWorker(threading.Thread):
    """Every `interval_s`: broadcast sync, outbox flush, heartbeat. `kick()` runs one now."""

    def __init__(
        self,
        backend: Backend,
        cache: BroadcastCache,
        outbox: Outbox,
        interval_s: float,
        on_result: Callable[[SyncReport | BackendError], None] = lambda r: None,
        devices: Callable[[], Mapping[str, str | None]] = dict,  # reader, psam, voice, printer: for the heartbeat
    ) -> None:
        super().__init__(name="sync", daemon=True)
        self.backend, self.cache, self.outbox = backend, cache, outbox
        self.interval_s = interval_s
        self.on_result = on_result
        self.devices = devices
        self.backoff = Backoff(cap_s=interval_s)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._kicked = False
        self.started_at = time.monotonic()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._wake.set()
        self.join(timeout)

    def run(self) -> None:
        next_round = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_round or self._kicked:
                self._kicked = False
                result = self.sync_round()
                if isinstance(result, BackendError):
                    next_round = time.monotonic() + self.backoff.next_delay()
                else:
                    self.backoff.reset()
                    next_round = time.monotonic() + self.interval_s
                self.on_result(result)
            else:
                # Between rounds: a heartbeat every minute, so staff see a dead kiosk within one.
                with contextlib.suppress(BackendError):
                    self._heartbeat(SyncReport())
            self._wake.wait(max(0.0, min(HEARTBEAT_S, next_round - time.monotonic())))
            self._wake.clear()

    def kick(self) -> None:
        self._kicked = True
        self._wake.set()

    def sync_round(self) -> SyncReport | BackendError:
        """Outbox, broadcast, heartbeat, each on its own: one failing must not hold back the others
        (a citizen waiting for staff must not wait for a broken broadcast page)."""
        report = SyncReport()
        failures: list[BackendError] = []
        for step in (self._flush, self._broadcast, self._heartbeat):
            try:
                step(report)
            except BackendError as e:
                log.warning("sync step failed: %s", e)
                failures.append(e)
            except Exception:  # the worker must outlive surprises; the next round tries again
                log.exception("sync step failed")
                failures.append(BackendError("internal", "The sync failed unexpectedly."))
        return failures[0] if failures else report

    def _flush(self, report: SyncReport) -> None:
        flush_outbox(self.backend, self.outbox, report)

    def _broadcast(self, report: SyncReport) -> None:
        sync_broadcast(self.backend, self.cache, report)

    def _heartbeat(self, report: SyncReport) -> None:
        uptime = time.monotonic() - self.started_at
        self.backend.heartbeat(self.cache.last_sync, self.outbox.depth(), uptime, self.devices())
