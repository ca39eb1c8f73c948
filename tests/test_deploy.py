"""Deployment: the unit verifies, the scripts pass shellcheck, the watchdog stops when the GUI freezes,
and a bad config shows "out of service" instead of a crash loop."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import ROOT
from ui.app import Watchdog


def test_the_systemd_unit_verifies() -> None:
    assert shutil.which("systemd-analyze") and shutil.which("cage"), "bootstrap installs systemd and cage"
    done = subprocess.run(["systemd-analyze", "verify", str(ROOT / "deploy" / "ss-kiosk.service")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    unit = (ROOT / "deploy" / "ss-kiosk.service").read_text()
    for needed in ("Type=notify", "WatchdogSec=", "Restart=always", "After=systemd-user-sessions.service pcscd.socket",
                   "/usr/bin/cage", "User=ss-kiosk", "StandardOutput=journal"):  # fmt: skip
        assert needed in unit, needed


def test_the_hall_server_unit_verifies() -> None:
    done = subprocess.run(["systemd-analyze", "verify", str(ROOT / "deploy" / "ss-kiosk-hall.service")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    # The one complaint allowed: the program is installed by the ss-kiosk-hall package, not on this machine.
    program = "/opt/ss-kiosk-hall/venv/bin/ss-kiosk"
    problems = [line for line in done.stderr.splitlines() if line and program not in line]
    assert not problems, done.stderr
    unit = (ROOT / "deploy" / "ss-kiosk-hall.service").read_text()
    for needed in ("ss-kiosk hall-server --config", "User=ss-kiosk-hall", "Restart=always", "ProtectSystem=strict"):
        assert needed in unit, needed


def test_the_scripts_pass_shellcheck() -> None:
    assert shutil.which("shellcheck"), "bootstrap installs shellcheck"
    packages = (ROOT / "deploy" / "debian").glob("*/*")  # the maintainer scripts
    scripts = [ROOT / "deploy" / "install", *packages, ROOT / "bootstrap", ROOT / ".ci" / "run"]
    done = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_the_watchdog_pings_from_the_gui_loop_and_stops_when_it_freezes(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # pings every 200 ms

    def pings() -> list[float]:
        seen = []
        while True:
            try:
                message = listener.recv(64)
            except BlockingIOError:
                return seen
            if message == b"WATCHDOG=1":
                seen.append(time.monotonic())

    watchdog = Watchdog.from_environment()
    assert watchdog is not None and watchdog.timer.interval() == 200
    qtbot.wait(1000)
    assert len(pings()) >= 4, "pings while the GUI thread turns"
    time.sleep(1.0)  # the GUI thread is stuck: no event loop, no ping
    frozen = pings()
    assert len(frozen) <= 1, "no pings pile up while frozen (at most one queued timer fires after)"
    qtbot.wait(700)
    assert len(pings()) >= 3, "pings again once the GUI thread turns"
    watchdog.timer.stop()
    listener.close()


def run_kiosk_for_a_while(config: Path) -> tuple[bool, str]:
    """`ss-kiosk run` for 3 s: whether it was still up (not in a crash loop), and what it logged."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config", str(config), "--windowed"],
                               stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)  # fmt: skip
    try:
        time.sleep(3)
        up = process.poll() is None
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    return up, err


def test_a_bad_config_shows_out_of_service_and_keeps_running(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[voice]\nvolume = 7\n")
    up, err = run_kiosk_for_a_while(bad)
    assert up, "still up, showing out of service, not in a crash loop"
    assert "out of service" in err and "Traceback" not in err


def test_a_new_kiosk_without_a_config_opens_the_set_up_wizard(tmp_path: Path) -> None:
    missing = tmp_path / "etc" / "config.toml"
    up, err = run_kiosk_for_a_while(missing)
    assert up, "waiting for the engineer on the wizard"
    assert f"no config at {missing}: the set-up wizard" in err and "out of service" not in err
    assert not missing.exists()  # nothing is written until the engineer saves
