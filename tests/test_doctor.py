"""`ss-kiosk doctor` against a healthy kiosk and against each broken part: one line names it, exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.hall.server import HallServer, TLSMaterial
from tests.conftest import PSAM_READER, READER, ROOT, kiosk_toml, wait_reader_empty, wait_reader_present
from tests.pcsc_line import PcscLine


def doctor(config: Path, *args: str) -> tuple[int, dict[str, dict]]:
    done = subprocess.run([sys.executable, "-m", "kiosk", "doctor", "--json", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, {f["check"]: f for f in json.loads(done.stdout)}


def kiosk_config(tmp_path: Path, backend: HallServer, extra: str = "", ca: Path | None = None) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(kiosk_toml(backend, tmp_path / "data", extra, ca), encoding="utf-8")
    return path


def test_a_healthy_kiosk_passes(tmp_path: Path, backend: HallServer, card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming")
    config = kiosk_config(tmp_path, backend)
    subprocess.run([sys.executable, "-m", "kiosk", "sync", "--once", "--config", str(config)], check=True,
                   capture_output=True, cwd=ROOT)  # fmt: skip
    code, found = doctor(config)
    assert code == 0, found
    for check in ("config", "pc/sc service", "reader", "card", "voice", "chinese font", "backend tls", "clock",
                  "data dir", "broadcast", "outbox"):  # fmt: skip
        assert found[check]["status"] == "pass", found[check]
    assert "generation 2" in found["card"]["message"]
    assert found["virtual reader"]["status"] == "warn", "vpcd on a hall kiosk is named"
    assert found["psam"]["status"] == "warn" and "third-generation cards" in found["psam"]["message"]


def test_a_kiosk_with_its_psam_reads_a_third_generation_test_card(
    tmp_path: Path, backend: HallServer, psam_slot: object, card_slot: Callable[..., object]
) -> None:
    card_slot("zhang-guifang-3rd-gen")
    _, found = doctor(kiosk_config(tmp_path, backend, f'psam_filter = "{PSAM_READER}"\n'))
    assert found["psam"]["status"] == "pass" and "terminal 440100000042" in found["psam"]["message"]
    assert found["card"]["status"] == "pass" and "generation 3" in found["card"]["message"]


@pytest.mark.parametrize(
    ("psam_faults", "psam_filter", "check", "words"),
    [
        (["wrong_application"], PSAM_READER, "psam", "not a social security PSAM"),
        (None, PSAM_READER, "psam", "put the hall's PSAM in its slot"),
        ([], "Nonesuch SAM", "psam", "no reader matches reader.psam_filter 'Nonesuch SAM'"),
        ([], READER, "psam", "give each slot its own filter"),
        (["locked"], PSAM_READER, "card", "psam_locked"),  # a locked PSAM opens: a test card finds it out
    ],
)
def test_each_psam_fault_is_named(
    tmp_path: Path, backend: HallServer, psam_slot: object, card_slot: Callable[..., object],
    psam_faults: list[str] | None, psam_filter: str, check: str, words: str,
) -> None:  # fmt: skip
    if psam_faults is None:
        psam_slot.remove()
        wait_reader_empty(reader=PSAM_READER)
    elif psam_faults:
        psam_slot.faults = psam_faults
        psam_slot.insert()
        wait_reader_present(reader=PSAM_READER)
    card_slot("zhang-guifang-3rd-gen")
    code, found = doctor(kiosk_config(tmp_path, backend, f'psam_filter = "{psam_filter}"\n'))
    assert code == 1 and found[check]["status"] == "fail", found[check]
    assert words in found[check]["message"]


def test_pcscd_stopped_is_named(tmp_path: Path, backend: HallServer, pcsc_line: PcscLine) -> None:
    pcsc_line.cut()
    code, found = doctor(kiosk_config(tmp_path, backend), "--no-card")
    assert code == 1 and found["pc/sc service"]["status"] == "fail"
    assert "pcscd" in found["pc/sc service"]["message"]


def test_no_matching_reader_is_named(tmp_path: Path, backend: HallServer, pcscd: None) -> None:
    config = kiosk_config(tmp_path, backend)
    config.write_text(config.read_text().replace(READER, "Nonesuch Reader"))
    code, found = doctor(config, "--no-card")
    assert code == 1 and found["reader"]["status"] == "fail" and "Nonesuch" in found["reader"]["message"]


def test_backend_down_is_named(tmp_path: Path, backend: HallServer, pcscd: None) -> None:
    config = kiosk_config(tmp_path, backend)
    backend.stop()
    backend.stop = lambda: None  # type: ignore[method-assign]
    code, found = doctor(config, "--no-card")
    assert (
        code == 1
        and found["backend tls"]["status"] == "fail"
        and "cannot be reached" in found["backend tls"]["message"]
    )


def test_a_wrong_ca_is_named(tmp_path: Path, backend: HallServer, pcscd: None) -> None:
    stranger = TLSMaterial(tmp_path / "stranger")
    code, found = doctor(kiosk_config(tmp_path, backend, ca=stranger.ca_file), "--no-card")
    assert code == 1 and found["backend tls"]["status"] == "fail" and "not trusted" in found["backend tls"]["message"]


def test_an_expired_certificate_is_named(tmp_path: Path, pcscd: None) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    tls = TLSMaterial(folder)
    now = datetime.now(UTC)
    tls.server_cert = tls.ca.issue_cert("127.0.0.1", not_before=now - timedelta(days=400),
                                        not_after=now - timedelta(days=1))  # fmt: skip
    server = HallServer(folder, tls=tls).start()
    try:
        code, found = doctor(kiosk_config(tmp_path, server), "--no-card")
    finally:
        server.stop()
    assert code == 1 and "expired" in found["backend tls"]["message"]


def test_a_data_dir_that_cannot_be_written_is_named(tmp_path: Path, backend: HallServer, pcscd: None) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = kiosk_config(tmp_path, backend)
    config.write_text(config.read_text().replace(f'data_dir = "{tmp_path / "data"}"', f'data_dir = "{blocker}/data"'))
    code, found = doctor(config, "--no-card")
    assert code == 1 and found["data dir"]["status"] == "fail" and "not writable" in found["data dir"]["message"]


@pytest.mark.parametrize("text", ['[backend]\nurl = "ftp://x"\n', "not toml ["])
def test_a_bad_config_is_named_and_the_rest_still_checked(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text(text)
    code, found = doctor(bad)
    assert code == 1 and found["config"]["status"] == "fail" and str(bad) in found["config"]["message"]
    assert "chinese font" in found


def test_a_hall_with_cantonese_has_its_voice_checked(tmp_path: Path, backend: HallServer, pcscd: None) -> None:
    _, found = doctor(kiosk_config(tmp_path, backend, '[voice]\nlanguages = ["zh_CN", "yue"]\n'), "--no-card")
    assert found["cantonese voice"] == {"check": "cantonese voice", "status": "pass", "message": "sit/yue for yue"}
    _, found = doctor(kiosk_config(tmp_path, backend), "--no-card")
    assert "cantonese voice" not in found, "a Mandarin-only hall is not told about Cantonese"


PRINTER_FINDINGS = [
    ([], "pass", "正常 ready"),
    (["paper_low"], "warn", "纸快用完"),
    (["paper_out"], "fail", "没纸了 out of paper"),
    (["cover_open"], "fail", "盖子开着 cover open"),
    (["cutter_jam"], "fail", "切刀卡住 cutter jammed"),
    (["offline"], "fail", "脱机 offline"),
]


@pytest.mark.parametrize(("faults", "status", "words"), PRINTER_FINDINGS)
def test_the_receipt_printer_is_named_with_what_to_do(
    tmp_path: Path, backend: HallServer, pcscd: None, faults: list[str], status: str, words: str
) -> None:
    from hardware.printer_emulator import PrinterEmulator

    printer = PrinterEmulator(faults=faults)
    try:
        extra = f'[printer]\nkind = "escpos-network"\ndevice = "{printer.address}"\n'
        _, found = doctor(kiosk_config(tmp_path, backend, extra), "--no-card")
    finally:
        printer.close()
    assert found["printer"]["status"] == status and words in found["printer"]["message"], found["printer"]
    assert printer.slips == [], "doctor only asks how the printer is; a slip is for --test-print"


def test_a_printer_that_does_not_answer_fails_and_none_configured_passes(
    tmp_path: Path, backend: HallServer, pcscd: None
) -> None:
    import socket

    with socket.socket() as free:  # a port nothing answers on: the printer switched off
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"
    extra = f'[printer]\nkind = "escpos-network"\ndevice = "{address}"\n'
    code, found = doctor(kiosk_config(tmp_path, backend, extra), "--no-card")
    assert code == 1 and found["printer"]["status"] == "fail", found["printer"]
    assert "连不上 does not answer" in found["printer"]["message"] and address in found["printer"]["message"]
    _, found = doctor(kiosk_config(tmp_path, backend), "--no-card")
    assert found["printer"]["status"] == "pass" and "none" in found["printer"]["message"]


def test_a_test_print_comes_out_of_the_printer_through_the_kiosks_own_path(
    tmp_path: Path, backend: HallServer, pcscd: None
) -> None:
    from hardware.printer_emulator import PrinterEmulator, render
    from tests.test_printer import ocr, qr_of

    printer = PrinterEmulator()
    try:
        extra = (f'[hall]\nname = "朝阳区社会保障服务大厅"\n[printer]\nkind = "escpos-network"\n'
                 f'device = "{printer.address}"\n')  # fmt: skip
        _, found = doctor(kiosk_config(tmp_path, backend, extra), "--no-card", "--test-print")
        [slip] = printer.slips
    finally:
        printer.close()
    assert found["printer"]["status"] == "pass" and "a test slip printed" in found["printer"]["message"]
    png = render(slip, tmp_path / "test-slip.png")
    read = ocr(png)
    assert "打印测试" in read and "朝阳区社会保障服务大厅" in read, read
    assert qr_of(png) == ["ss-kiosk-test-print:demo-kiosk"]


def test_a_cups_printer_is_checked_and_test_printed_through_the_halls_queue(
    tmp_path: Path, backend: HallServer, pcscd: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cups_server import CupsServer

    cupsd = CupsServer()
    monkeypatch.setenv("CUPS_SERVER", str(cupsd.socket))
    try:
        config = kiosk_config(tmp_path, backend, f'[printer]\nkind = "cups"\ndevice = "{cupsd.queue}"\n')
        _, found = doctor(config, "--no-card", "--test-print")
        assert found["printer"]["status"] == "pass" and "a test slip printed" in found["printer"]["message"]
        assert len(cupsd.pdfs()) == 1
        cupsd.lp("cupsdisable", cupsd.queue)
        code, found = doctor(config, "--no-card")
    finally:
        cupsd.stop()
    assert code == 1 and found["printer"]["status"] == "fail", found["printer"]
    assert "脱机 offline" in found["printer"]["message"] and "paused" in found["printer"]["message"]
