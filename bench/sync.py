"""Sync timings against the reference backend on loopback HTTPS, ours beside raw `requests` doing the same HTTP.

- first sync of 10,000 broadcast notices into an empty cache   (budget ≤ 2 s)
- a 304 poll                                                    (budget ≤ 30 ms)
- personal notices for one card
- outbox flush of 1,000 receipts

The backend runs in its own process (`ss-kiosk demo-backend`). Usage: python bench/sync.py [--notices 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench import Row, ms, report  # noqa: E402
from bench.slow import add_option, confine, off_the_terminal  # noqa: E402
from kiosk.app import GIL_TURN_S  # noqa: E402
from kiosk.cache import BroadcastCache  # noqa: E402
from kiosk.hall.api import SAMPLE  # noqa: E402
from kiosk.outbox import Outbox, now_iso  # noqa: E402
from kiosk.sync import RECEIPTS_PER_POST, Backend, BackendSettings, flush_outbox, sync_broadcast  # noqa: E402

WANG_MING = {"ssn": "110105194803151234", "card_no": "A10000001"}


def notices_file(folder: Path, count: int) -> Path:
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    base = sample["broadcast"]
    many = [{**base[i % len(base)], "id": f"bench-{i:06d}"} for i in range(count)]
    path = folder / "notices.json"
    path.write_text(json.dumps({"broadcast": many, "personal": sample["personal"]}, ensure_ascii=False))
    return path


def start_backend(folder: Path, notices: Path) -> tuple[subprocess.Popen[str], BackendSettings]:
    """The reference backend in its own process. It stands for the bureau's server, which is not on the terminal:
    off the slow terminal's quota (bench/slow.py), for our sync and the raw reference alike."""
    process = subprocess.Popen(
        off_the_terminal([sys.executable, "-m", "kiosk", "demo-backend", "--port", "0", "--notices", str(notices),
                          "--data-dir", str(folder / "backend")]),
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout
    url = process.stdout.readline().split()[-1]
    for _ in range(3):
        process.stdout.readline()
    backend = folder / "backend"
    token = (backend / "token").read_text().strip()
    return process, BackendSettings(url=url, ca_file=str(backend / "demo-ca.pem"), token=token, kiosk_id="bench")


def timed(action: Callable[[], object], runs: int, setup: Callable[[], object] = lambda: None) -> list[float]:
    out = []
    for _ in range(runs):
        setup()
        start = time.perf_counter()
        action()
        out.append(time.perf_counter() - start)
    return out


class Raw:
    """What a minimal script would do with requests: same URLs, headers, CA; parse the JSON, store nothing."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {settings.token}", "X-Kiosk-Id": settings.kiosk_id}

    def get(self, params: dict | None = None, etag: str | None = None) -> requests.Response:
        headers = {**self.headers, **({"If-None-Match": etag} if etag else {})}
        url = self.settings.url + "/notices/broadcast"
        return self.session.get(url, params=params, headers=headers, verify=self.settings.ca_file, timeout=10)

    def full_sync(self) -> str:
        cursor, etag = None, ""
        while True:
            response = self.get({"cursor": cursor} if cursor else None)
            page = response.json()
            cursor, etag = page["cursor"], response.headers["ETag"]
            if not page["more"]:
                return f"{cursor} {etag}"

    def post(self, path: str, body: dict) -> object:
        url = self.settings.url + path
        return self.session.post(url, json=body, headers=self.headers, verify=self.settings.ca_file, timeout=10).json()


def measure(notices: int, receipts: int) -> list[Row]:
    """Our client beside raw requests, against the reference backend in its own process."""
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-bench-sync-"))
    process, settings = start_backend(folder, notices_file(folder, notices))
    try:
        ours, raw = Backend(settings), Raw(settings)
        caches: list[BroadcastCache] = []

        def fresh_cache() -> None:
            caches.append(BroadcastCache(folder / f"cache-{len(caches)}.sqlite3"))

        first_ours = timed(lambda: sync_broadcast(ours, caches[-1]), 5, fresh_cache)
        first_raw = timed(raw.full_sync, 5)
        assert caches[-1].count() >= notices

        cursor, etag = raw.full_sync().split(" ")
        poll_ours = timed(lambda: sync_broadcast(ours, caches[-1]), 50)
        poll_raw = timed(lambda: raw.get({"cursor": cursor}, etag), 50)
        assert sync_broadcast(ours, caches[-1]).not_modified and raw.get({"cursor": cursor}, etag).status_code == 304

        personal_ours = timed(lambda: ours.personal(WANG_MING["ssn"], WANG_MING["card_no"]), 50)
        personal_raw = timed(lambda: raw.post("/notices/personal", WANG_MING), 50)

        outbox = Outbox(folder / "outbox.sqlite3", folder / "outbox.key")

        def fill() -> None:
            for n in range(receipts):
                outbox.add_receipt(f"bench-{n:06d}", "subject-bench-0123456789", "read", None)

        flush_ours = timed(lambda: flush_outbox(ours, outbox), 5, fill)
        assert outbox.depth() == 0

        def raw_flush() -> None:
            for start in range(0, receipts, RECEIPTS_PER_POST):
                batch = [{"id": str(uuid.uuid4()), "notice_id": f"bench-{n:06d}", "subject": "subject-bench-0123456789",
                          "action": "read", "value": None, "at": now_iso()}
                         for n in range(start, min(receipts, start + RECEIPTS_PER_POST))]  # fmt: skip
                raw.post("/receipts", {"receipts": batch})

        flush_raw = timed(raw_flush, 5)
    finally:
        process.terminate()
        process.wait()

    def row(key: str, measure: str, ours: list[float], raw: list[float], budget: float | None = None) -> Row:
        (om, op), (rm, rp) = ms(ours), ms(raw)
        limit, passed = ("—", None) if budget is None else (f"≤ {budget:g} ms median", om <= budget)
        return Row(key, measure, om, op, rm, rp, "raw requests", limit, passed)

    return [
        row("sync.first", f"first sync of {notices:,} notices", first_ours, first_raw, 2000),
        row("sync.poll_304", "304 poll", poll_ours, poll_raw, 30),
        row("sync.personal", "personal notices, one card", personal_ours, personal_raw),
        row("sync.outbox", f"outbox flush of {receipts:,} receipts", flush_ours, flush_raw),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--receipts", type=int, default=1_000)
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line (for bench/run)")
    add_option(parser)
    args = parser.parse_args()
    slowed = confine(args.slow)  # before anything is started: all of it runs on the slow terminal
    sys.setswitchinterval(GIL_TURN_S)  # as in the kiosk, whose GUI thread needs the GIL back soon
    rows = measure(args.notices, args.receipts)
    note = "(ms; raw = requests with the same session reuse, parsing the JSON and storing nothing)"
    title = ", ".join(filter(None, ["sync against the reference backend on loopback HTTPS", slowed]))
    return report(rows, title, note, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
