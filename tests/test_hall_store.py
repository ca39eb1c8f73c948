"""The hall server's storage on both databases it supports: SQLite (a file) and a real PostgreSQL from Debian's
package, which these tests start on a private socket and stop again. And what a hard kill leaves behind."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.hall.console import Console, Live, Staff
from kiosk.hall.server import HallServer, TLSMaterial
from kiosk.hall.store import HallStore
from kiosk.hall.throwaway import fresh_database, postgres_programs, throwaway_postgres
from kiosk.outbox import Outbox
from kiosk.sync import Backend, BackendError, BackendSettings, flush_outbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of our own (initdb in a temporary folder, a Unix socket only); its address."""
    if postgres_programs() is None:
        pytest.fail("PostgreSQL is missing: ./bootstrap test installs Debian's postgresql")
    with throwaway_postgres() as address:
        yield address


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "hall.sqlite3")
    return fresh_database(request.getfixturevalue("postgres"))


def rating(n: int, value: str = "good") -> dict:
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "notice_id": None, "subject": None, "action": "rating",
            "value": value, "at": "2026-12-04T09:00:00+08:00"}  # fmt: skip


def test_receipts_and_help_requests_are_kept_once_each(database: str) -> None:
    store = HallStore(database)
    mute = {**rating(1), "action": "mute_category", "value": "policy_update", "subject": "s-1", "notice_id": "n1"}
    assert store.add_receipts([rating(0), mute], "k1") == [rating(0)["id"], mute["id"]]
    assert store.add_receipts([rating(0), mute], "k1") == [rating(0)["id"], mute["id"]], "a resend is accepted"
    assert len(store.receipts()) == 2 and store.muted("s-1") == ["policy_update"]
    assert store.add_help("help-0123456789", "k1", "notices", "2026-12-04T09:00:00+08:00")
    assert not store.add_help("help-0123456789", "k1", "notices", "2026-12-04T09:00:00+08:00")
    assert store.answer_help("help-0123456789", "li", "acknowledged")
    assert not store.answer_help("help-0123456789", "wang", "acknowledged"), "the first to take it is kept"
    assert store.answer_help("help-0123456789", "wang", "resolved")
    taken = store.help_request("help-0123456789")
    assert (taken.state, taken.acknowledged_by, taken.resolved_by) == ("resolved", "li", "wang")
    store.add_visit("k1")
    assert store.day_counts(0)["k1"] == {"sessions": 1, "rating_good": 1, "help": 1}
    store.close()


def test_a_staff_session_ends_when_idle_and_a_new_password_signs_every_browser_out(database: str) -> None:
    store = HallStore(database)
    store.put_staff("li", "clerk", "scrypt$x")
    store.open_staff_session("token-a", "li", "csrf-a")
    assert store.staff_session("token-a", idle_s=60) == ("li", "clerk", "csrf-a")
    time.sleep(0.3)
    assert store.staff_session("token-a", idle_s=0.1) is None, "idle too long"
    assert store.staff_session("token-a", idle_s=60) is None, "and gone for good"
    store.open_staff_session("token-b", "li", "csrf-b")
    store.put_staff("li", "clerk", "scrypt$y")
    assert store.staff_session("token-b", idle_s=60) is None
    store.close()


def test_a_provinces_fleet_shows_its_troubled_kiosks_and_counts_the_fine_ones(database: str) -> None:
    store = HallStore(database)
    for n in range(150):
        reader = "no_reader" if n % 50 == 7 else "ok"
        synced = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        store.add_heartbeat(f"k{n:03d}", {"kiosk_id": f"k{n:03d}", "reader": reader, "last_sync": synced}, {}, 0.0)
    console = Console(store, Live(), {}, 1800)
    shown = console.parts({"fleet"})
    assert [k["kiosk_id"] for k in shown["fleet"]] == ["k007", "k057", "k107"]
    assert shown["fine_unlisted"] == 147
    html = console._draw({"fleet"}, Staff("li-clerk", "clerk", "csrf"))["fleet"]
    assert "读卡器异常" in html and "另有 147 台终端正常" in html


def test_a_kiosk_offline_delivers_its_queued_help_request_and_rating_once_each(tmp_path: Path, database: str) -> None:
    """Queued while the hall server is down, delivered when it is back, once each however often resent."""
    outbox = Outbox(tmp_path / "outbox.sqlite3", tmp_path / "outbox.key")
    help_id = outbox.add_assist("test-kiosk", "notices")
    outbox.add_receipt(None, None, "rating", "good")
    with socket.socket() as probe:  # a port nobody listens on: the hall server is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tls = TLSMaterial(tmp_path / "hall")
    down = BackendSettings(url=f"https://127.0.0.1:{port}/api/v1", ca_file=str(tls.ca_file), token="t" * 20,
                           kiosk_id="test-kiosk")  # fmt: skip
    with pytest.raises(Exception, match="cannot be reached"):
        flush_outbox(Backend(down), outbox)
    assert outbox.depth() == 2, "nothing lost, nothing sent"
    hall = HallServer(tmp_path / "hall", tls=tls, database=database, port=port).start()  # back, on the same address
    settings = BackendSettings(url=hall.url, ca_file=str(hall.tls.ca_file), token=hall.token, kiosk_id="test-kiosk")
    try:
        report = flush_outbox(Backend(settings), outbox)
        assert (report.assists_sent, report.receipts_sent, outbox.depth()) == (1, 1, 0)
        _, _, state = Backend(settings).call("GET", f"/assist/{help_id}")
        assert state == {"id": help_id, "state": "open"}
        hall.store.answer_help(help_id, "li", "acknowledged")
        _, _, state = Backend(settings).call("GET", f"/assist/{help_id}")
        assert state["state"] == "acknowledged", "the kiosk hears that staff are coming"
        other = dataclass_replace(settings, kiosk_id="other-kiosk")
        with pytest.raises(Exception, match="404"):
            Backend(other).call("GET", f"/assist/{help_id}")  # another kiosk's request is not its business
        assert [a[0] for a in hall.assists()] == [help_id] and [r[3] for r in hall.receipts()] == ["rating"]
    finally:
        hall.stop()


def dataclass_replace(settings: BackendSettings, **changes: str) -> BackendSettings:
    import dataclasses

    return dataclasses.replace(settings, **changes)


def test_the_hall_server_killed_mid_day_loses_no_help_request_receipt_or_rating(tmp_path: Path) -> None:
    """What the server answered as accepted is on disk before the answer left: kill -9, start again, all there."""
    data = tmp_path / "hall"
    server = start_demo_backend(data)
    try:
        url, token, ca = server.url, server.token, server.ca
        heads = {"Authorization": f"Bearer {token}", "X-Kiosk-Id": "k1"}
        help_ids = [f"help-{n:012d}" for n in range(20)]
        for n, help_id in enumerate(help_ids):
            at = "2026-12-04T09:00:00+08:00"
            assert requests.post(f"{url}/assist", json={"id": help_id, "screen": "pin", "at": at}, headers=heads,
                                 verify=ca, timeout=5).status_code == 202  # fmt: skip
            answer = requests.post(f"{url}/receipts", json={"receipts": [rating(n, "bad")]}, headers=heads,
                                   verify=ca, timeout=5)  # fmt: skip
            assert answer.json()["accepted"] == [rating(n)["id"]]
    finally:
        server.process.send_signal(signal.SIGKILL)  # no goodbye: as a power cut or the OOM killer would
        server.process.wait(10)
    store = HallStore(data / "hall.sqlite3")
    assert sorted(h.id for h in store.help_requests()) == help_ids
    assert len(store.receipts()) == 20 and store.day_counts(0)["k1"]["rating_bad"] == 20
    store.close()
    again = start_demo_backend(data)  # and the server starts on what it left, the console shows the requests
    try:
        assert again.process.poll() is None
    finally:
        again.process.terminate()
        again.process.wait(10)
    store = HallStore(data / "hall.sqlite3")
    assert len(store.help_requests(open_only=True)) == 20
    store.close()


class DemoBackendProcess:
    def __init__(self, process: subprocess.Popen[str], lines: list[str]) -> None:
        self.process = process
        self.url = next(line.split()[2] for line in lines if line.startswith("demo backend"))
        self.ca = next(line.split()[1] for line in lines if line.startswith("CA"))
        self.token = Path(next(line.split()[1] for line in lines if line.startswith("token"))).read_text().strip()


def start_demo_backend(data: Path) -> DemoBackendProcess:
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "demo-backend", "--data-dir", str(data)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.strip())
        if line.startswith("hall console"):
            break
    assert any(re.match(r"demo backend\s+https://", line) for line in lines), lines
    return DemoBackendProcess(process, lines)


def test_with_client_ca_set_only_kiosks_with_a_certificate_reach_the_api_and_browsers_still_the_console(
    tmp_path: Path,
) -> None:
    import trustme

    from kiosk.hall.config import load

    hall_ca, kiosk_ca = trustme.CA(), trustme.CA()
    hall_ca.cert_pem.write_to_path(str(tmp_path / "hall-ca.pem"))
    hall_ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    kiosk_ca.cert_pem.write_to_path(str(tmp_path / "kiosk-ca.pem"))
    kiosk_cert = kiosk_ca.issue_cert("hall-0101-01")
    kiosk_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "kiosk.crt"))
    kiosk_cert.private_key_pem.write_to_path(str(tmp_path / "kiosk.key"))
    (tmp_path / "hall.toml").write_text(
        f'[hall]\ntls_cert = "{tmp_path}/server.pem"\ntls_key = "{tmp_path}/server.pem"\n'
        f'client_ca = "{tmp_path}/kiosk-ca.pem"\n'
    )
    config = load(tmp_path / "hall.toml")
    hall = HallServer(tmp_path / "hall", server_context=config.api_context(),
                      console_context=config.console_context()).start()  # fmt: skip
    try:
        settings = BackendSettings(url=hall.url, ca_file=str(tmp_path / "hall-ca.pem"), token=hall.token,
                                   kiosk_id="hall-0101-01", client_cert=str(tmp_path / "kiosk.crt"),
                                   client_key=str(tmp_path / "kiosk.key"))  # fmt: skip
        Backend(settings).heartbeat(None, 0, 1.0, {"reader": "ok"})
        assert [k for k, _, _ in hall.store.kiosks()] == ["hall-0101-01"]
        without = BackendSettings(url=hall.url, ca_file=str(tmp_path / "hall-ca.pem"), token=hall.token,
                                  kiosk_id="hall-0101-02")  # fmt: skip
        with pytest.raises(BackendError) as refused:
            Backend(without).heartbeat(None, 0, 1.0, {"reader": "ok"})
        assert refused.value.kind in ("untrusted", "unreachable")
        assert [k for k, _, _ in hall.store.kiosks()] == ["hall-0101-01"], "the kiosk without one reached nothing"
        page = requests.get(hall.console_url + "login", verify=str(tmp_path / "hall-ca.pem"), timeout=5)
        assert page.status_code == 200, "a staff browser needs no client certificate"
    finally:
        hall.stop()
