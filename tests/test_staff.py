"""Staff PINs, the lockout and the audit log (the staff screens come later; this is their core)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.staff import ADMIN, CLERK, LOCK_S, AuditLog, StaffGate, hash_pin, pin_matches
from tests.conftest import ROOT


def gate(tmp_path: Path) -> StaffGate:
    hashes = {ADMIN: hash_pin("246813"), CLERK: hash_pin("135792")}
    return StaffGate(hashes, tmp_path / "staff-lock.json", AuditLog(tmp_path / "audit.log"))


def test_pins_are_stored_as_salted_scrypt_and_checked() -> None:
    first, second = hash_pin("246813"), hash_pin("246813")
    assert first != second and first.startswith("scrypt$") and "246813" not in first
    assert pin_matches("246813", first) and not pin_matches("246814", first)
    assert not pin_matches("246813", "") and not pin_matches("246813", "md5$x")
    with pytest.raises(ValueError):
        hash_pin("1234")


def test_each_role_has_its_own_pin(tmp_path: Path) -> None:
    staff = gate(tmp_path)
    assert staff.enter("246813").role == ADMIN
    assert staff.enter("135792").role == CLERK
    assert staff.enter("000000").role is None


def test_five_wrong_pins_lock_entry_for_five_minutes_even_after_a_restart(tmp_path: Path) -> None:
    staff = gate(tmp_path)
    for tries_left in (4, 3, 2, 1):
        assert staff.enter("000000", now=1000.0).tries_left == tries_left
    locked = staff.enter("000000", now=1000.0)
    assert locked.role is None and locked.locked_for_s == LOCK_S
    restarted = gate(tmp_path)  # a crash or a power cut does not reset the count
    restarted.hashes = staff.hashes
    assert restarted.enter("246813", now=1000.0 + LOCK_S - 1).role is None, "the right PIN waits too"
    assert restarted.enter("246813", now=1000.0 + LOCK_S + 1).role == ADMIN


def test_the_audit_log_says_who_did_what_and_when_and_only_grows(tmp_path: Path) -> None:
    staff = gate(tmp_path)
    staff.enter("000000")
    staff.enter("135792")
    staff.audit.write(CLERK, "sync now")
    entries = staff.audit.entries()
    assert [(e["role"], e["action"]) for e in entries] == [
        ("-", "wrong staff PIN"), (CLERK, "staff entry"), (CLERK, "sync now"),
    ]  # fmt: skip
    assert all(e["at"] for e in entries)
    text = (tmp_path / "audit.log").read_text()
    assert "135792" not in text and "000000" not in text, "no PIN in the log, right or wrong"


def test_staff_pin_command_prints_a_hash_for_the_config() -> None:
    done = subprocess.run([sys.executable, "-m", "kiosk", "staff-pin"], input="246813\n246813\n",
                          capture_output=True, text=True, timeout=30, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0 and pin_matches("246813", done.stdout.strip())
    mismatch = subprocess.run([sys.executable, "-m", "kiosk", "staff-pin"], input="246813\n246814\n",
                              capture_output=True, text=True, timeout=30, cwd=ROOT)  # fmt: skip
    assert mismatch.returncode == 2 and "do not match" in mismatch.stderr
