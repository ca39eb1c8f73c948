"""QR codes of notices' URLs, made in a process of their own at low priority (`python -m kiosk.qr`).

qrcode tries all eight masks in pure Python: 5 ms a code here, 15-30 ms on a busy kiosk. On a thread it took the
GIL from the GUI thread while a citizen's list was painted (the longest GUI stall of a session on a 3x slower
terminal, bench/ui.py --slow 3); in a process started at nice 10 (kiosk/priority.py) it takes neither the GIL
nor the processor from it.
A plain child on pipes, not multiprocessing: its spawn runs the parent's main script again in the child.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from kiosk.priority import below_the_screen

log = logging.getLogger(__name__)

Matrix = list[list[bool]]  # a QR code's modules, dark or not, quiet zone included
ROOT = Path(__file__).resolve().parent.parent


def encode_qr(url: str) -> Matrix:
    """The modules of `url`'s QR code (run in the QR process)."""
    import qrcode  # only the QR process imports it

    code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


class QrProcess:
    """The QR process and the one thread that talks to it: a URL (a JSON line) in, its rows ("0110…" joined by
    spaces, empty for a URL no QR code holds) out, in the order asked. Started on the first code, again if it
    died; it holds the URLs asked for in memory only, like the kiosk itself."""

    def __init__(self) -> None:
        self._talker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qr")
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def submit(self, url: str, first: Callable[[], object] = lambda: None) -> Future[Matrix]:
        """`url`'s code, made once `first()` returns (the kiosk's: the new screen drawn, kiosk.priority)."""
        return self._talker.submit(self._ask, url, first)

    def _ask(self, url: str, first: Callable[[], object] = lambda: None) -> Matrix:
        first()
        with self._lock:
            child = self._running()
            assert child.stdin and child.stdout
            try:
                child.stdin.write(json.dumps(url) + "\n")
                child.stdin.flush()
                answer = child.stdout.readline()
            except OSError:
                answer = ""
            if not answer:
                self._child = None
                raise RuntimeError("the QR process ended")
        return [[cell == "1" for cell in row] for row in answer.split()]

    def _running(self) -> subprocess.Popen[str]:
        if self._child is None or self._child.poll() is not None:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
            self._child = subprocess.Popen(
                below_the_screen([sys.executable, "-m", "kiosk.qr"]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, env=env, cwd=ROOT,
            )  # fmt: skip
        return self._child

    def close(self) -> None:
        with self._lock:
            if self._child is not None and self._child.stdin:
                self._child.stdin.close()  # the child ends at the end of its input
                self._child.wait(5)
                self._child = None


@functools.cache
def qr_process() -> QrProcess:
    process = QrProcess()
    atexit.register(process.close)
    return process


def main() -> None:
    for line in sys.stdin:
        try:
            matrix = encode_qr(json.loads(line))
        except Exception:  # e.g. a URL too long for any QR code: an empty answer, the page shows none
            matrix = []
        sys.stdout.write(" ".join("".join("1" if dark else "0" for dark in row) for row in matrix) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
