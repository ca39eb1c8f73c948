"""The network worker's faults (issue 30), with the whole kiosk running: real window, real pcscd with the emulated
card, the hall server on loopback TLS. The worker is killed mid-flush and mid-sync, stopped, and outlived."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.config import from_text
from kiosk.doctor import check_network_worker
from kiosk.hall.api import slow
from kiosk.hall.server import HallServer
from kiosk.network import HANG_S, STATUS_FILE
from kiosk.session import Screen
from tests.conftest import kiosk_toml, running_kiosk
from tests.faults.test_faults_in_a_session import read_finish_and_rate, to_notices
from ui.app import KioskApp

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def kiosk(tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication) -> Iterator[KioskApp]:
    config = from_text(kiosk_toml(backend, tmp_path / "data", "[voice]\nenabled = false\n"), tmp_path / "kiosk.toml")
    with running_kiosk(config) as app:
        yield app


def worker_pid(kiosk: KioskApp) -> int:
    worker = kiosk.network.worker  # type: ignore[union-attr]
    return worker.pid or 0 if worker.running() else 0


def replaced(qtbot: QtBot, kiosk: KioskApp, old: int, timeout_s: float) -> float:
    """Seconds until a new worker runs and has said it is ready."""
    start = time.monotonic()
    qtbot.waitUntil(lambda: worker_pid(kiosk) not in (0, old), timeout=int(timeout_s * 1000))
    return time.monotonic() - start


def test_a_worker_killed_mid_flush_is_back_within_2_s_and_each_receipt_is_stored_once(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines) and worker_pid(kiosk) > 0, timeout=10_000)
    headlines = kiosk.window.view.headlines
    backend.faults["/receipts"] = slow(1.5)  # the flush is under way when the worker dies
    to_notices(qtbot, kiosk, card_slot)
    qtbot.waitUntil(lambda: not kiosk.window.view.personal_loading, timeout=5000)
    read_finish_and_rate(qtbot, kiosk)
    qtbot.waitUntil(lambda: ("POST", "/receipts") in backend.requests, timeout=10_000)
    old = worker_pid(kiosk)
    os.kill(old, signal.SIGKILL)
    assert kiosk.window.view.headlines == headlines, "the screen keeps serving from the cache"
    back_after = replaced(qtbot, kiosk, old, 5)
    print(f"killed mid-flush: a new worker ready after {back_after:.2f} s")
    assert back_after <= 2.0
    del backend.faults["/receipts"]
    kiosk.network.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: len(backend.receipts()) == 2, timeout=15_000)
    qtbot.waitUntil(lambda: kiosk.network.status.get("outbox_depth") == 0, timeout=10_000)  # type: ignore[union-attr]
    qtbot.wait(500)
    stored = backend.receipts()
    assert len(stored) == 2 and len({r[0] for r in stored}) == 2, "each receipt once: none lost, none twice"
    assert {r[3] for r in stored} == {"read", "rating"}
    assert kiosk.network.restarts == 1 and "SIGKILL" in kiosk.network.last_exit  # type: ignore[union-attr]
    assert any("started again 1×" in line for line in kiosk.staff_status())
    status = json.loads((kiosk.config.data_dir / STATUS_FILE).read_text())
    assert status["restarts"] == 1 and status["worker_pid"] == worker_pid(kiosk)
    finding = check_network_worker(kiosk.config)  # what `ss-kiosk doctor` says
    assert finding.status == "warn" and "started again 1 times, last: killed by SIGKILL" in finding.message
    kiosk.network.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: any(b.get("network_restarts") == 1 for b in backend.heartbeats()), timeout=10_000)


def test_a_worker_killed_mid_sync_leaves_a_whole_cache_and_the_next_one_finishes_it(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer
) -> None:
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines) and worker_pid(kiosk) > 0, timeout=10_000)
    before = kiosk.window.view.headlines
    template = next(iter(backend.broadcast.values()))
    backend.page_size = 50
    for n in range(300):  # six pages of new notices for the next sync
        backend.publish({**template, "id": f"extra-{n:04d}", "title": f"通知 {n}"})
    backend.faults["/notices/broadcast"] = slow(0.5)
    pages = backend.requests.count(("GET", "/notices/broadcast"))
    kiosk.network.sync_now()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: backend.requests.count(("GET", "/notices/broadcast")) >= pages + 2, timeout=10_000)
    old = worker_pid(kiosk)
    os.kill(old, signal.SIGKILL)
    assert kiosk.window.view.headlines == before
    assert replaced(qtbot, kiosk, old, 5) <= 2.0
    del backend.faults["/notices/broadcast"]
    kiosk.network.sync_now()  # type: ignore[union-attr]
    expected = set(backend.broadcast)
    qtbot.waitUntil(lambda: {n.id for n in kiosk.cache.notices()} == expected, timeout=20_000)  # type: ignore[union-attr]
    check = subprocess.run(["sqlite3", str(kiosk.config.data_dir / "broadcast.sqlite3"), "PRAGMA integrity_check"],
                           capture_output=True, text=True)  # fmt: skip
    assert check.stdout.strip() in ("ok", ""), check.stdout


def test_a_stopped_worker_is_noticed_and_replaced_and_the_next_card_gets_its_notices(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: worker_pid(kiosk) > 0, timeout=10_000)
    stopped = worker_pid(kiosk)
    os.kill(stopped, signal.SIGSTOP)
    after = replaced(qtbot, kiosk, stopped, HANG_S + 5)
    print(f"stopped: replaced after {after:.2f} s (HANG_S={HANG_S})")
    assert after <= HANG_S + 2
    assert "hung" in kiosk.network.last_exit  # type: ignore[union-attr]
    assert not Path(f"/proc/{stopped}").exists(), "the stopped one was killed, not left behind"
    to_notices(qtbot, kiosk, card_slot)
    qtbot.waitUntil(lambda: not kiosk.window.view.personal_loading, timeout=5000)
    assert any(n.personal for n in kiosk.window.view.notices)
    assert kiosk.window.view.screen == Screen.NOTICES


KIOSK_IN_ITS_PROCESS = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from kiosk.cli import devices
from kiosk.config import load
from ui.app import KioskApp
app = QApplication(sys.argv)
kiosk = KioskApp(load(sys.argv[1]), devices())
kiosk.window.show()
kiosk.start()
def report():
    if kiosk.window.view.headlines and kiosk.network.worker.ready and kiosk.speech.ready.is_set():
        if not said:
            said.append(kiosk.speech.say("请插入社保卡"))
        elif kiosk.speech.state.spoken:
            seen = {"modules": sorted(sys.modules), "voice": kiosk.speech.worker.pid}
            return print(json.dumps(seen), flush=True)
    QTimer.singleShot(100, report)
said = []
QTimer.singleShot(100, report)
app.exec()
"""


def test_the_window_process_loads_no_network_or_audio_code_and_a_killed_kiosk_leaves_no_worker(
    tmp_path: Path, backend: HallServer, pcscd: None
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(kiosk_toml(backend, tmp_path / "data"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    kiosk = subprocess.Popen([sys.executable, "-c", KIOSK_IN_ITS_PROCESS, str(config)], stdout=subprocess.PIPE,
                             text=True, env=env, cwd=ROOT)  # fmt: skip
    try:
        assert kiosk.stdout
        seen = json.loads(kiosk.stdout.readline() or "{}")
        modules = set(seen.get("modules", []))
        assert "kiosk.app" in modules and "ui.window" in modules, "the kiosk ran, showed its attract screen, spoke"
        # (cryptography is the card thread's: the PSAM's SM4, hardware/psam.py)
        workers = {"requests", "urllib3", "certifi", "kiosk.sync", "kiosk.outbox", "kiosk.network_worker", "numpy",
                   "kiosk.loudness", "kiosk.voicepack", "hardware.speech", "hardware.synthesis"}  # fmt: skip
        loaded = modules & workers
        assert not loaded, f"the window's process loaded {sorted(loaded)}: its workers'"
        worker = json.loads((tmp_path / "data" / STATUS_FILE).read_text())["worker_pid"]
        children = (worker, seen["voice"])
        for pid in children:
            assert Path(f"/proc/{pid}").exists()
            assert os.getpriority(os.PRIO_PROCESS, pid) >= 10, "below the screen"
        kiosk.kill()
        kiosk.wait(5)
        deadline = time.monotonic() + 2
        while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not left, "the workers went with the kiosk: neither orphaned nor writing"
    finally:
        kiosk.kill()
