"""Finding, and for the demo and the tests starting, the PC/SC service (pcscd) with its vpcd virtual readers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from smartcard import scard as pc

VPCD_READER_PREFIX = "Virtual PCD"


class PcscdError(RuntimeError):
    """The PC/SC service could not be had; the message says what to do."""


def list_readers() -> list[str] | None:
    """The reader names, or None when no PC/SC service answers."""
    hresult, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    if hresult != pc.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = pc.SCardListReaders(context, [])
        return list(readers) if hresult == pc.SCARD_S_SUCCESS else []
    finally:
        pc.SCardReleaseContext(context)


@dataclass
class StartedPcscd:
    """A pcscd this process started; `stop()` ends it and nothing else."""

    process: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ensure_pcscd(log_file: Path | None = None, timeout: float = 10.0) -> StartedPcscd:
    """Use the PC/SC service that answers; start `pcscd --foreground` when none does (needs root)."""
    if list_readers() is not None:
        return StartedPcscd(None)
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not Path(binary).exists():
        raise PcscdError("pcscd is not installed: apt-get install pcscd vsmartcard-vpcd")
    command = [binary, "--foreground"]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise PcscdError("pcscd is not running and only root can start it: systemctl start pcscd.socket")
        command = ["sudo", "-n", *command]
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               preexec_fn=_end_with_parent)  # fmt: skip
    started = StartedPcscd(process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PcscdError(f"pcscd exited at start with code {process.returncode}")
        readers = list_readers()
        if readers:
            return started
        time.sleep(0.05)
    started.stop()
    raise PcscdError(f"pcscd started but showed no reader within {timeout:.0f} s")


def _end_with_parent() -> None:
    """In the child: the pcscd we start ends with us, even when we crash (no orphan for the next run)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def vpcd_readers(readers: list[str] | None = None) -> list[str]:
    readers = list_readers() if readers is None else readers
    return [r for r in readers or [] if r.startswith(VPCD_READER_PREFIX)]
