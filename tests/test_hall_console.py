"""The hall console in a real browser (Debian's headless Chromium, driven through chromedriver by Selenium),
against a real hall server on loopback HTTPS, and a real kiosk window reading through pcscd."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from kiosk.config import from_text
from kiosk.hall.api import since_midnight
from kiosk.hall.pictures import STAFF, chromium
from kiosk.hall.pictures import log_in as sign_in
from kiosk.hall.server import HallServer
from kiosk.session import Screen
from kiosk.staff import hash_secret
from tests.conftest import kiosk_toml, running_kiosk
from tests.test_ui_flow import SINK, screen_is, tap_text
from ui.app import KioskApp
from ui.texts import spoken

PLACE = "二楼东侧 3号机"
KIOSK = "demo-kiosk"  # the id kiosk_toml gives the kiosk under test
PASSWORDS = {name: password for name, (_, password) in STAFF.items()}


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[HallServer]:
    server = HallServer(tmp_path / "hall", places={KIOSK: PLACE}, session_idle_s=600).start()
    server.store.put_staff("zhang-admin", "admin", hash_secret(PASSWORDS["zhang-admin"]))
    server.store.put_staff("li-clerk", "clerk", hash_secret(PASSWORDS["li-clerk"]))
    yield server
    server.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium") as driver:
        yield driver


def log_in(browser: webdriver.Chrome, hall: HallServer, name: str, password: str | None = None) -> None:
    sign_in(browser, hall, name, PASSWORDS[name] if password is None else password)


def until(check: Callable[[], object], timeout_s: float, qtbot: QtBot | None = None) -> object:
    """Poll `check` (the browser or the kiosk) until it gives something, letting the kiosk's window run meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = check()
        except WebDriverException:
            found = None
        if found:
            return found
        if qtbot is not None:
            qtbot.wait(20)
        else:
            time.sleep(0.02)
    raise AssertionError(f"not within {timeout_s} s")


@pytest.fixture
def kiosk(tmp_path: Path, hall: HallServer, pcscd: None, qapp: QApplication) -> Iterator[KioskApp]:
    config = from_text(kiosk_toml(hall, tmp_path / "data"), tmp_path / "kiosk.toml")
    with running_kiosk(config, player=SINK) as app:
        yield app


def test_a_help_request_reaches_the_console_and_the_citizen_hears_staff_are_coming(
    qtbot: QtBot, kiosk: KioskApp, hall: HallServer, browser: webdriver.Chrome, card_slot: Callable[..., object]
) -> None:
    log_in(browser, hall, "li-clerk")
    until(lambda: "现在没有人求助" in browser.page_source, 5)
    qtbot.waitUntil(lambda: kiosk.speech is not None and kiosk.speech.state.status == "ready", timeout=5000)
    said: list[str] = []
    real_say = kiosk.speech.say
    kiosk.speech.say = lambda text, *a, **k: (said.append(text), real_say(text, *a, **k))  # type: ignore[method-assign]
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: screen_is(kiosk, Screen.NOTICES)() and not kiosk.window.view.personal_loading, timeout=5000)

    pressed = time.monotonic()
    tap_text(qtbot, kiosk, "请工作人员帮忙")
    row = until(lambda: browser.find_elements(By.CSS_SELECTOR, "#help tr.open"), 2.0, qtbot)[0]  # type: ignore[index]
    arrived_s = time.monotonic() - pressed
    assert arrived_s <= 2.0, f"the help request took {arrived_s:.2f} s to reach the console"
    assert PLACE in row.text and KIOSK in row.text and "消息列表" in row.text, row.text
    qtbot.waitUntil(kiosk.window.help_banner.isVisible, timeout=2000)  # the citizen sees that staff are called
    assert not browser.find_element(By.ID, "alert").get_attribute("hidden"), "a new request is flagged on screen"
    assert "王" not in browser.page_source and "110105" not in browser.page_source, "nothing personal on the console"

    row.find_element(By.XPATH, ".//button[text()='我来处理']").click()
    until(lambda: "li-clerk" in browser.find_element(By.ID, "help").text and "已接手" in browser.page_source, 5, qtbot)
    coming = spoken("help.coming", "zh_CN")
    qtbot.waitUntil(lambda: kiosk.window.view.help_coming and coming in said, timeout=10_000)
    assert any(coming.rstrip("。") in text for text in visible_texts(kiosk)), "the citizen reads that staff are coming"

    browser.find_element(By.XPATH, "//button[text()='已解决']").click()
    until(lambda: "现在没有人求助" in browser.page_source, 5, qtbot)
    assert browser.find_element(By.ID, "alert").get_attribute("hidden") is not None
    qtbot.waitUntil(lambda: not kiosk.window.help_banner.isVisible(), timeout=10_000)  # resolved: the banner goes
    assert screen_is(kiosk, Screen.NOTICES)(), "and the citizen's visit goes on"


def test_staff_read_every_screen_a_kiosk_can_be_on_in_their_words() -> None:
    """The help row's 在哪一步: the kiosk sends its Screen's name; a name the console does not know was shown raw
    ("detail" in a row of Chinese)."""
    from kiosk.hall.console import SCREENS

    assert set(SCREENS) == {screen.value for screen in Screen}


def visible_texts(kiosk: KioskApp) -> list[str]:
    from PySide6.QtWidgets import QLabel

    return [label.text() for label in kiosk.window.findChildren(QLabel) if label.isVisible()]


def test_the_wall_screen_shows_the_fleet_with_the_troubled_kiosks_first(
    hall: HallServer, browser: webdriver.Chrome
) -> None:
    kiosks = [("hall-0101-01", "ok", 0, "ready"), ("hall-0101-02", "no_reader", 0, "ready"),
              ("hall-0101-03", "ok", 30 * 3600, "not_configured"), ("hall-0101-05", "ok", 0, "paper_out")]  # fmt: skip
    for kiosk_id, reader, age, printer in kiosks:
        synced = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - age))
        counts = {"card_reads": 8, "card_errors": 1, "network_calls": 200, "network_errors": 1}
        hall.store.add_heartbeat(kiosk_id, {"kiosk_id": kiosk_id, "version": "0.1.0", "reader": reader,
                                            "psam": "ready", "voice": "ready", "last_sync": synced, "outbox_depth": 0,
                                            "uptime_s": 5.0, "printer": printer}, counts, since_midnight())  # fmt: skip
    hall.store.add_heartbeat("hall-0101-04", {"kiosk_id": "hall-0101-04", "reader": "ok", "last_sync": None}, {},
                             since_midnight())  # fmt: skip
    with hall.store.transaction() as db:  # this one last spoke ten minutes ago: three heartbeats missed
        db.execute("UPDATE kiosk SET received = ? WHERE kiosk_id = 'hall-0101-04'", (time.time() - 600,))
    for n, value in enumerate(["good"] * 5 + ["ok"] * 2 + ["bad"]):  # the day's ratings from the goodbye screen
        hall.store.add_visit("hall-0101-01")
        hall.store.add_receipts([{"id": f"00000000-0000-4000-8000-{n:012d}", "notice_id": None, "subject": None,
                                  "action": "rating", "value": value, "at": "2026-12-04T09:00:00+08:00"}],
                                "hall-0101-01")  # fmt: skip
    log_in(browser, hall, "zhang-admin")
    rows = until(lambda: browser.find_elements(By.CSS_SELECTOR, "#fleet tbody tr"), 5)
    order = [r.get_attribute("data-kiosk") for r in rows]  # type: ignore[union-attr]
    # The kiosk with a place but never a heartbeat is offline too; the one fine kiosk comes last.
    assert order == [KIOSK, "hall-0101-02", "hall-0101-03", "hall-0101-04", "hall-0101-05", "hall-0101-01"], order
    text = browser.find_element(By.ID, "fleet").text
    assert "读卡器异常" in text and "数据超过24小时未更新" in text and "离线" in text
    out_of_paper = browser.find_element(By.CSS_SELECTOR, "#fleet tr[data-kiosk='hall-0101-05']").text
    assert "打印机没纸了" in out_of_paper, out_of_paper  # the problem, and the printer's column
    assert "打印机" not in browser.find_element(By.CSS_SELECTOR, "#fleet tr[data-kiosk='hall-0101-01']").text
    hall_row = browser.find_element(By.CSS_SELECTOR, "#figures tr.hall").text.split()
    assert hall_row[:5] == ["全厅", "8", "5", "2", "1"], hall_row  # sessions, 好, 一般, 不好
    # Card and network error rates over the three kiosks' counts; 1 card in 8 failed is over the bureau's 1 %.
    assert hall_row[-2:] == ["12.5%", "0.5%"], hall_row
    over = browser.find_elements(By.CSS_SELECTOR, "#figures tr.hall td.over")
    assert [td.text for td in over] == ["12.5%"]
    until(lambda: browser.execute_script("return document.querySelector('#ratings').width > 0"), 5)


def test_a_wrong_password_is_refused_and_guessing_is_stopped(hall: HallServer, browser: webdriver.Chrome) -> None:
    log_in(browser, hall, "li-clerk", "not-the-password")
    assert "用户名或密码不对" in browser.page_source and "/login" in browser.current_url
    for _ in range(4):
        log_in(browser, hall, "li-clerk", "still-wrong")
    log_in(browser, hall, "li-clerk")  # the right password, too late: the name is locked for a while
    assert "错误次数过多" in browser.page_source and "我来处理" not in browser.page_source
    assert [a[2] for a in hall.store.audit_entries()].count("login_refused") == 5


def test_an_idle_session_expires_and_asks_to_log_in_again(tmp_path: Path, browser: webdriver.Chrome) -> None:
    hall = HallServer(tmp_path / "short", session_idle_s=1.0).start()
    try:
        hall.store.put_staff("li-clerk", "clerk", hash_secret(PASSWORDS["li-clerk"]))
        log_in(browser, hall, "li-clerk")
        until(lambda: "终端状态" in browser.page_source, 5)
        until(lambda: "登录已过期" in browser.page_source, 15)  # the live stream notices and goes to the login
        browser.get(hall.console_url)
        assert "登录已过期" in browser.page_source and "/login" in browser.current_url
    finally:
        hall.stop()


def test_a_clerk_cannot_open_an_admin_page(hall: HallServer, browser: webdriver.Chrome) -> None:
    log_in(browser, hall, "li-clerk")
    until(lambda: "终端状态" in browser.page_source, 5)
    assert "账号与记录" not in browser.page_source, "no link to what a clerk may not open"
    browser.get(hall.console_url + "accounts")
    assert "只有管理员" in browser.page_source and "hall-admin-pass" not in browser.page_source
    log_in(browser, hall, "zhang-admin")
    browser.get(hall.console_url + "accounts")
    assert "工作人员账号" in browser.page_source and "li-clerk" in browser.page_source


def test_a_forged_form_post_is_refused(hall: HallServer, browser: webdriver.Chrome) -> None:
    hall.store.add_help("forged-0123456789", "test-kiosk", "notices", "2026-12-04T09:00:00+08:00")
    log_in(browser, hall, "li-clerk")
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#help tr.open"), 5)
    # A page elsewhere cannot know the session's token: the same form with a made-up one is refused.
    browser.execute_script("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'made-up');")
    taken = browser.find_element(By.XPATH, "//button[text()='我来处理']")
    taken.click()
    WebDriverWait(browser, 10).until(staleness_of(taken))
    assert "表单已失效" in browser.page_source
    assert hall.store.help_request("forged-0123456789").state == "open"
    cookie = browser.get_cookie("__Host-hall_session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_a_kiosk_token_opens_no_console_page(hall: HallServer) -> None:
    kiosk = {"Authorization": f"Bearer {hall.token}", "X-Kiosk-Id": "test-kiosk"}
    ca = str(hall.tls.ca_file)
    page = requests.get(hall.console_url, headers=kiosk, verify=ca, allow_redirects=False, timeout=5)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    api_port = re.sub(r"/api/v1$", "", hall.url)
    for path in ("/", "/accounts", "/events", "/login"):
        assert requests.get(api_port + path, headers=kiosk, verify=ca, timeout=5).status_code == 404
