"""`ss-kiosk sync --once`, `notices` and `demo-backend` as staff use them, and the background sync worker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.cache import BroadcastCache
from kiosk.cli import demo_kiosk_config
from kiosk.hall.api import fail_with
from kiosk.hall.server import HallServer
from kiosk.outbox import Outbox
from kiosk.sync import Backend, BackendError, BackendSettings, SyncReport, SyncWorker
from tests.conftest import ROOT


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def config_for(backend: HallServer, tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(demo_kiosk_config(backend.url, backend.tls.ca_file, backend.token_file, tmp_path / "data"))
    return path


def test_sync_once_prints_what_changed_then_304(backend: HallServer, tmp_path: Path) -> None:
    config = config_for(backend, tmp_path)
    first = kiosk("sync", "--once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "16 new, 0 updated, 0 deleted, 0 invalid skipped" in first.stdout
    backend.delete(sorted(backend.broadcast)[0])
    second = kiosk("sync", "--once", "--config", str(config))
    assert "0 new, 0 updated, 1 deleted" in second.stdout
    third = kiosk("sync", "--once", "--config", str(config))
    assert "not modified (304)" in third.stdout


def test_notices_are_shown_from_the_cache_with_the_backend_stopped(backend: HallServer, tmp_path: Path) -> None:
    config = config_for(backend, tmp_path)
    assert kiosk("sync", "--once", "--config", str(config)).returncode == 0
    backend.faults["/notices/broadcast"] = fail_with(500)
    down = kiosk("sync", "--once", "--config", str(config))
    assert down.returncode == 1 and down.stderr.strip() == "The backend had an error (500); it will be tried again."
    shown = kiosk("notices", "--config", str(config))
    assert shown.returncode == 0
    assert "小心骗子" in shown.stdout and "behind 'more'" in shown.stdout


def test_sync_refuses_a_bad_config_in_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text('[backend]\nurl = "http://notices.example/api/v1"\n')
    done = kiosk("sync", "--once", "--config", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == f"{bad}:2: backend.url must use https"
    missing = kiosk("sync", "--once", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read the config file" in missing.stderr


def test_demo_backend_command_serves_and_writes_a_kiosk_config(tmp_path: Path) -> None:
    folder = tmp_path / "backend"
    server = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "demo-backend", "--port", "0", "--data-dir", str(folder)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert server.stdout
        lines = [server.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("demo backend  https://127.0.0.1:")
        done = kiosk("sync", "--once", "--config", str(folder / "kiosk.toml"))
        assert done.returncode == 0 and "16 new" in done.stdout
    finally:
        server.terminate()
        assert server.wait(10) == 0


def test_the_worker_backs_off_while_the_backend_fails_and_recovers(backend: HallServer, tmp_path: Path) -> None:
    results: list[SyncReport | BackendError] = []
    cache = BroadcastCache(tmp_path / "b.sqlite3")
    outbox = Outbox(tmp_path / "o.sqlite3", tmp_path / "o.key")
    client = Backend(BackendSettings(url=backend.url, ca_file=str(backend.tls.ca_file), token=backend.token))
    backend.faults["/notices/broadcast"] = fail_with(500)
    worker = SyncWorker(client, cache, outbox, 30, on_result=results.append, devices=lambda: {"reader": "ok"})
    worker.backoff.base_s = 0.1
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(results) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(results) >= 3 and all(isinstance(r, BackendError) for r in results), "retried with backoff"
        del backend.faults["/notices/broadcast"]
        outbox.add_receipt(None, None, "rating", "good")
        worker.kick()
        while not isinstance(results[-1], SyncReport) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert isinstance(results[-1], SyncReport) and results[-1].new == 16 and results[-1].receipts_sent == 1
        assert backend.heartbeats()[-1]["reader"] == "ok"
    finally:
        worker.stop()
    assert not worker.is_alive()


def test_heartbeats_go_every_minute_between_sync_rounds(
    backend: HallServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk import sync

    monkeypatch.setattr(sync, "HEARTBEAT_S", 0.2)  # a minute, shortened for the test
    cache = BroadcastCache(tmp_path / "b.sqlite3")
    outbox = Outbox(tmp_path / "o.sqlite3", tmp_path / "o.key")
    client = Backend(BackendSettings(url=backend.url, ca_file=str(backend.tls.ca_file), token=backend.token))
    worker = SyncWorker(client, cache, outbox, interval_s=300, devices=lambda: {"reader": "no_reader"})
    worker.start()
    try:
        time.sleep(1.1)
    finally:
        worker.stop()
    broadcasts = [r for r in backend.requests if r == ("GET", "/notices/broadcast")]
    assert len(broadcasts) == 1, "one sync round in 300 s"
    assert len(backend.heartbeats()) >= 4 and backend.heartbeats()[-1]["reader"] == "no_reader"


def test_the_config_is_written_whole_and_reads_back(tmp_path: Path) -> None:
    from kiosk.config import from_text, load, write

    config = from_text('[backend]\nurl = "https://notices.example/api/v1"\n[voice]\nvolume = 0.5\n')
    path = tmp_path / "config.toml"
    path.write_text("old")
    write(config, path)
    assert load(path).values == config.values
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"], "no temp file left behind"
