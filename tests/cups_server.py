"""A CUPS scheduler of the tests' own, on a Unix socket in a temporary folder, with one cups-pdf queue: what the
kiosk prints to it comes out as a PDF in `out`. The system's cupsd, if any, is left alone (CUPS_SERVER names
ours); cups-pdf reads its queue's settings from /etc/cups/cups-pdf-<queue>.conf, written here and removed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CUPSD = "/usr/sbin/cupsd"
PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONFIG = Path("/etc/cups")


class CupsServer:
    def __init__(self) -> None:
        missing = [p for p in (CUPSD, str(PPD), "/usr/lib/cups/backend/cups-pdf") if not Path(p).exists()]
        assert not missing, f"CUPS and cups-pdf are part of the test set-up (./bootstrap installs them): {missing}"
        # Its own folder, open to the lp user the filters run as (pytest's tmp_path is private to root).
        self.folder = folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-cups-"))
        folder.chmod(0o755)
        self.queue = f"sskiosk{os.getpid()}"
        self.socket = folder / "cups.sock"
        self.out = folder / "pdf"
        for name in ("etc/ppd", "spool", "cache", "state", "log", "pdf"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / "tmp").mkdir(mode=0o1777, exist_ok=True)
        (folder / "tmp").chmod(0o1777)  # the filters run as lp
        self.out.chmod(0o777)  # cups-pdf writes as the job's user
        (folder / "etc/cupsd.conf").write_text(
            f"Listen {self.socket}\nLogLevel debug\nWebInterface No\nBrowsing No\n"
            "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
            "<Policy default>\n  <Limit All>\n    Order allow,deny\n    Allow all\n  </Limit>\n</Policy>\n"
        )
        (folder / "etc/cups-files.conf").write_text(
            f"ServerRoot {folder}/etc\nRequestRoot {folder}/spool\nCacheDir {folder}/cache\nStateDir {folder}/state\n"
            f"TempDir {folder}/tmp\nServerBin /usr/lib/cups\nDataDir /usr/share/cups\n"
            f"AccessLog {folder}/log/access_log\nErrorLog {folder}/log/error_log\nPageLog {folder}/log/page_log\n"
            "SystemGroup root\nUser lp\nGroup lp\n"
        )
        self.pdf_config = CUPS_PDF_CONFIG / f"cups-pdf-{self.queue}.conf"
        self.pdf_config.write_text(f"Out {self.out}\nAnonDirName {self.out}\nLabel 0\n")
        self.environment = {**os.environ, "CUPS_SERVER": str(self.socket), "LC_ALL": "C"}
        self.process = subprocess.Popen([CUPSD, "-f", "-c", f"{folder}/etc/cupsd.conf", "-s",
                                         f"{folder}/etc/cups-files.conf"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 10
        while not self._answers():
            assert self.process.poll() is None and time.monotonic() < deadline, self.log()
            time.sleep(0.05)
        self.lp("lpadmin", "-p", self.queue, "-E", "-v", f"cups-pdf:/{self.queue}", "-P", str(PPD))

    def _answers(self) -> bool:
        return self.socket.exists() and subprocess.run(["lpstat", "-r"], env=self.environment, capture_output=True,
                                                       text=True).stdout.startswith("scheduler is running")  # fmt: skip

    def lp(self, *command: str) -> str:
        done = subprocess.run(command, env=self.environment, capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done.stdout

    def pdfs(self) -> list[Path]:
        return sorted(self.out.glob("*.pdf"), key=lambda p: p.stat().st_mtime)

    def log(self) -> str:
        log = self.folder / "log/error_log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "no error_log"

    def stop(self) -> None:
        self.pdf_config.unlink(missing_ok=True)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)


def pages(pdf: Path, folder: Path) -> list[Path]:
    """The PDF's pages as PNG pictures at 150 dpi, for OCR and zbar."""
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(folder / pdf.stem)], check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    return sorted(folder.glob(f"{pdf.stem}*.png"))
