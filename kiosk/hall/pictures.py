"""The staff console's pictures for docs/hall-server.md, made as a clerk sees it: a hall server with sample kiosks,
help requests and ratings, and Debian's Chromium, headless, logged in. `python -m ui.screenshots` calls
console_pictures() beside the kiosk's screens, so that the pictures a doc shows are made again with them.

The tests start Chromium the same way (chromium(), log_in()). Selenium is a tool of the tests and of this command,
not of the hall server: it is imported here only when a picture is made.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.hall.api import since_midnight
from kiosk.hall.server import HallServer
from kiosk.staff import hash_secret

if TYPE_CHECKING:
    from selenium import webdriver

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
STAFF = {"zhang-admin": ("admin", "hall-admin-pass-1"), "li-clerk": ("clerk", "hall-clerk-pass-1")}
PLACES = {
    "hall-0101-01": "一楼大厅 1号机", "hall-0101-02": "一楼大厅 2号机", "hall-0101-03": "二楼东侧 3号机",
    "hall-0101-04": "二楼西侧 4号机", "hall-0101-05": "三楼 医保窗口旁",
}  # fmt: skip
PICTURES = {"console-staff-pc.png": (1366, 768), "console-wall.png": (1920, 1080)}


@contextlib.contextmanager
def chromium(profile: Path, width: int = 1366, height: int = 768) -> Iterator[webdriver.Chrome]:
    """Debian's Chromium, headless, trusting the hall server's throwaway certificate (not in its store)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise RuntimeError("Chromium is missing: ./bootstrap test installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--window-size={width},{height}", "--lang=zh-CN", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    options.accept_insecure_certs = True
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser: webdriver.Chrome, hall: HallServer, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(hall.console_url + "login")
    browser.find_element(By.NAME, "name").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password)
    submit = browser.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    submit.click()
    WebDriverWait(browser, 10).until(staleness_of(submit))  # the answer's page has replaced the form


def at_size(browser: webdriver.Chrome, width: int, height: int) -> None:
    """The page as a screen of `width`×`height` shows it (the viewport itself, not a window around it)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
    time.sleep(0.3)  # the chart redraws for the new size


def sample_hall(folder: Path) -> HallServer:
    """A hall's morning: five kiosks (one without its reader, one whose notices are a day old, one gone quiet), two
    citizens waiting for help (one already taken by a clerk), and the day's ratings."""
    hall = HallServer(folder, places=PLACES).start()
    for name, (role, password) in STAFF.items():
        hall.store.put_staff(name, role, hash_secret(password))
    day = since_midnight()
    troubles = {"hall-0101-02": {"reader": "no_reader"}, "hall-0101-03": {"age_s": 30 * 3600}}
    for n, kiosk_id in enumerate(PLACES):
        trouble = troubles.get(kiosk_id, {})
        synced = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - trouble.get("age_s", 300)))
        counts = {"card_reads": 40 + 7 * n, "card_errors": n % 2, "network_calls": 900, "network_errors": n}
        state = {"kiosk_id": kiosk_id, "version": "0.1.0", "reader": trouble.get("reader", "ok"), "psam": "ready",
                 "voice": "ready", "last_sync": synced, "outbox_depth": 0, "uptime_s": 3600.0 * (n + 1)}  # fmt: skip
        hall.store.add_heartbeat(kiosk_id, state, counts, day)
    with hall.store.transaction() as db:  # hall-0101-04 last spoke ten minutes ago: three heartbeats missed
        db.execute("UPDATE kiosk SET received = ? WHERE kiosk_id = 'hall-0101-04'", (time.time() - 600,))
    for n, value in enumerate(["good"] * 31 + ["ok"] * 6 + ["bad"] * 2):
        kiosk_id = list(PLACES)[n % 3]
        hall.store.add_visit(kiosk_id)
        rating = {"id": str(uuid.UUID(int=n + 1, version=4)), "notice_id": None, "subject": None, "action": "rating",
                  "value": value, "at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00")}  # fmt: skip
        hall.store.add_receipts([rating], kiosk_id)
    asked = [("hall-0101-03", "detail", 240), ("hall-0101-01", "notices", 45)]
    for kiosk_id, screen, ago in asked:
        help_id, asked_at = str(uuid.uuid4()), time.time() - ago
        hall.store.add_help(help_id, kiosk_id, screen, time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(asked_at)))
        with hall.store.transaction() as db:  # waiting for `ago` seconds
            db.execute("UPDATE assist SET received = ? WHERE id = ?", (asked_at, help_id))
        if kiosk_id == "hall-0101-03":
            hall.store.answer_help(help_id, "li-clerk", "acknowledged")
    return hall


def console_pictures(out: Path) -> list[Path]:
    """console-staff-pc.png (a clerk's PC) and console-wall.png (the hall's wall screen), of sample_hall()."""
    written = []
    with tempfile.TemporaryDirectory(prefix="ss-kiosk-console-") as folder:
        hall = sample_hall(Path(folder) / "hall")
        try:
            with chromium(Path(folder) / "chromium") as browser:
                log_in(browser, hall, "zhang-admin", STAFF["zhang-admin"][1])
                drawn = (
                    "return document.querySelectorAll('#help tr.open').length > 0 && "
                    "document.querySelector('#ratings').width > 0"
                )
                deadline = time.monotonic() + 10
                while not browser.execute_script(drawn) and time.monotonic() < deadline:
                    time.sleep(0.05)
                for name, (width, height) in PICTURES.items():
                    at_size(browser, width, height)
                    browser.save_screenshot(str(out / name))
                    written.append(out / name)
        finally:
            hall.stop()
    return written
