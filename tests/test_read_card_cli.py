"""`ss-kiosk read-card` as staff run it: through the real pcscd, one sentence per error, the exit codes of DESIGN §4."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PSAM_READER, READER, ROOT, person_fields, person_file, wait_reader_empty, wait_reader_present
from tests.pcsc_line import PcscLine

THIRD = "zhang-guifang-3rd-gen"


def read_card(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "read-card", "--reader", READER, *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        cwd=ROOT,
    )


def assert_one_sentence(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for word in words:
        assert word in lines[0], stderr


@pytest.mark.parametrize("name", ["wang-ming", "gulnazar", "li-xiuying-expired"])
def test_json_reveal_prints_the_person_exactly(name: str, card_slot: Callable[..., object]) -> None:
    card_slot(name)
    done = read_card("--json", "--reveal", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out.pop("reader") == READER
    assert out.pop("atr") == "3B6C000086535345454D554C41544F52"
    assert out.pop("expired") is (name == "li-xiuying-expired")
    assert out == person_fields(name)


def test_without_reveal_nothing_personal_is_printed(card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming")
    for args in (("--json",), ()):
        done = read_card(*args, "--timeout", "10")
        assert done.returncode == 0
        for secret in ("110105194803151234", "A10000001", "王明", "1948-03-15", "110105"):
            assert secret not in done.stdout + done.stderr, secret
        assert "110***********1234" in done.stdout


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("foreign_card", 4, "not a social security card"),
        ("wrong_length", 4, "could not be read"),
        ("bad_bcd", 4, "could not be read"),
        ("drop_after:6", 4, "taken out before it was fully read"),
    ],
)
def test_each_card_fault_gives_its_exit_code_and_sentence(
    fault: str, code: int, words: str, card_slot: Callable[..., object]
) -> None:
    card_slot("wang-ming", faults=[fault])
    done = read_card("--timeout", "3")
    assert done.returncode == code
    assert_one_sentence(done.stderr, words)


def test_a_third_generation_card_reads_through_the_psam_named(
    psam_slot: object, card_slot: Callable[..., object]
) -> None:
    card_slot(THIRD)
    done = read_card("--json", "--reveal", "--psam", PSAM_READER, "--timeout", "10")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["name"] == "张桂芳" and out["spec_version"] == "3.00"
    assert (out["psam"], out["psam_terminal"]) == ("ready", "440100000042")


def test_the_kiosk_configs_readers_are_used_with_config(
    tmp_path: Path, psam_slot: object, card_slot: Callable[..., object]
) -> None:
    config = tmp_path / "kiosk.toml"
    backend = '[backend]\nurl = "https://ss.example.cn/api/v1"\n'
    config.write_text(
        backend + f'[reader]\nname_filter = "{READER}"\npsam_filter = "{PSAM_READER}"\n', encoding="utf-8"
    )
    card_slot(THIRD)
    done = subprocess.run([sys.executable, "-m", "kiosk", "read-card", "--json", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["psam_terminal"] == "440100000042"
    config.write_text(backend + "[reader]\npsam_filter = 7\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kiosk", "read-card", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert done.returncode == 2
    assert_one_sentence(done.stderr, "psam_filter")


@pytest.mark.parametrize(
    ("card_faults", "psam_faults", "psam", "code", "words"),
    [
        ([], [], "", 6, "needs the terminal's security module (PSAM): name its reader with --psam"),
        (["counterfeit"], [], PSAM_READER, 4, "failed internal authentication"),
        (["card_key_blocked"], [], PSAM_READER, 4, "read key (RKSSSE) is blocked"),
        ([], ["locked"], PSAM_READER, 6, "The PSAM is locked"),
        ([], ["wrong_application"], PSAM_READER, 6, "not a social security PSAM"),
        ([], ["wrong_master_key"], PSAM_READER, 6, "refused the PSAM's key"),
        ([], [], "Nonesuch", 6, "No PSAM answers"),
    ],
)
def test_each_third_generation_fault_gives_its_exit_code_and_sentence(
    card_faults: list[str], psam_faults: list[str], psam: str, code: int, words: str,
    psam_slot: object, card_slot: Callable[..., object],
) -> None:  # fmt: skip
    if psam_faults:
        psam_slot.faults = psam_faults
        psam_slot.insert()
        wait_reader_present(reader=PSAM_READER)
    card_slot(THIRD, faults=card_faults)
    done = read_card("--psam", psam, "--timeout", "5") if psam else read_card("--timeout", "5")
    assert done.returncode == code, done.stderr
    assert_one_sentence(done.stderr, words)
    assert "张桂芳" not in done.stdout + done.stderr


def test_every_card_fault_has_its_sentence() -> None:
    from hardware.card_once import ReadOnceError
    from kiosk.card import CardFault
    from kiosk.cli import read_failure

    for fault in CardFault:
        failure = read_failure(ReadOnceError(fault.value, "SELECT 6A82"), READER, 3)
        assert failure.code in (4, 6) and failure.error == fault.value and "{" not in failure.sentence


def test_json_errors_are_one_object_on_stdout(card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming", faults=["foreign_card"])
    done = read_card("--json", "--timeout", "3")
    assert done.returncode == 4
    assert json.loads(done.stdout)["error"] == "not_social_security_card"


def test_no_card_before_the_timeout_exits_3(pcscd: None) -> None:
    done = read_card("--timeout", "1")
    assert done.returncode == 3
    assert_one_sentence(done.stderr, "No card was inserted within 1 seconds")


def test_no_pcsc_service_exits_2(pcsc_line: PcscLine) -> None:
    pcsc_line.cut()
    done = read_card("--timeout", "5")
    assert done.returncode == 2
    assert_one_sentence(done.stderr, "No PC/SC service", "pcscd")


def test_no_matching_reader_exits_2(pcscd: None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "read-card", "--reader", "Nonesuch", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert_one_sentence(done.stderr, "No reader name contains 'Nonesuch'", READER)


def test_right_pin(card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming")
    done = read_card("--json", "--pin", "123456", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["pin_ok"] is True and out["tries_left"] is None


def test_wrong_pin_from_stdin_then_last_try_warning(card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming", tries_left=2)
    done = read_card("--json", "--pin", "-", "--timeout", "10", stdin="000000\n")
    assert done.returncode == 5
    assert json.loads(done.stdout)["tries_left"] == 1
    assert_one_sentence(done.stderr, "one more wrong PIN blocks the card")


def test_blocked_pin_exits_5(card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming", tries_left=0)
    done = read_card("--json", "--pin", "123456", "--timeout", "10")
    assert done.returncode == 5
    out = json.loads(done.stdout)
    assert out["pin_ok"] is False and out["tries_left"] == 0
    assert_one_sentence(done.stderr, "blocked", "counter")


def test_malformed_pin_is_refused_before_any_card_io(pcscd: None) -> None:
    done = read_card("--pin", "12345", "--timeout", "1")
    assert done.returncode == 5
    assert_one_sentence(done.stderr, "6 digits")


def test_emulate_card_command_inserts_and_removes_on_stdin(pcscd: None) -> None:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "emulate-card", "--person", str(person_file("gulnazar")), "--removed"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert emulator.stdin and emulator.stdout
    try:
        assert read_card("--timeout", "1").returncode == 3, "started with the card out"
        emulator.stdin.write("insert\n")
        emulator.stdin.flush()
        assert emulator.stdout.readline().startswith("inserted")
        done = read_card("--json", "--reveal", "--timeout", "10")
        assert json.loads(done.stdout)["name"] == "古丽娜扎尔·阿卜杜热合曼·买买提"
        emulator.stdin.write("remove\n")
        emulator.stdin.flush()
        assert emulator.stdout.readline().startswith("removed")
    finally:
        emulator.terminate()
        assert emulator.wait(timeout=10) == 0
    wait_reader_empty()


BAD_DATE = (ROOT / "assets/persons/wang-ming.json").read_text(encoding="utf-8").replace("1948-03-15", "1948-02-30")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "cannot read the person file"),
        ('{"card": {"name": "王明"}}', "card lacks card_id"),
        (BAD_DATE, "cannot be written to a card"),
    ],
)
def test_emulate_card_refuses_a_broken_person_file(tmp_path: Path, content: str, words: str) -> None:
    bad = tmp_path / "person.json"
    bad.write_text(content, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "emulate-card", "--person", str(bad)],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert_one_sentence(done.stderr, words, str(bad))
