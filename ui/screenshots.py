"""Renders every citizen screen to PNG: landscape and portrait, default and high contrast, ×1 and ×1.5.

`python -m ui.screenshots [OUT_DIR]` (default docs/screenshots). Runs a real window under the
platform Qt is given (xcb under Xvfb, or offscreen); the session is driven with the sample
persons and the sample notices, exactly as the kiosk drives it.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtWidgets import QApplication

from hardware.emulator import PERSONS, Person, sample_card
from kiosk.cache import cache_of
from kiosk.card import CardFault
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    PrinterChanged,
    ReadersChanged,
    ReaderServiceLost,
    SlipPrinted,
)
from kiosk.hall.api import load_data
from kiosk.notices import Notice, parse_notices
from kiosk.session import (
    BroadcastChanged,
    HallSettings,
    HelpAnswered,
    PersonalFailed,
    PersonalLoaded,
    Session,
    Tick,
    Touch,
    View,
)
from kiosk.slip import TEST_SLIP, Place, lines, slip_for
from kiosk.staff import printer_line, test_print_line
from ui.window import KioskWindow

ROOT = Path(__file__).resolve().parent.parent
CHINA = timezone(timedelta(hours=8))
TODAY = datetime.now(CHINA).replace(hour=10, minute=0)
SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
CANTONESE_SCENE = "01-attract-cantonese"  # a hall with Mandarin and Cantonese, the citizen's tap on 粤语 (no English)
FAULT_SCENE = "17-card-problem-"  # one look each (default, ×1): the layout is 12-card-problem's, in every variant
THIRD_GENERATION_FAULTS = (
    CardFault.NEEDS_SECURITY_MODULE, CardFault.PSAM_ABSENT, CardFault.PSAM_WRONG_APPLICATION,
    CardFault.PSAM_KEY_MISMATCH, CardFault.PSAM_SPENT_LAST_TRY, CardFault.PSAM_LOCKED, CardFault.PSAM_REFUSED,
    CardFault.PSAM_REMOVED, CardFault.CARD_KEY_BLOCKED, CardFault.NOT_GENUINE, CardFault.REMOVED_DURING_READ,
)  # fmt: skip


def scenes() -> Iterator[tuple[str, View]]:
    """(name, view) for every screen of the citizen flow, as a session reaches it."""
    broadcast, personal = load_data(today=TODAY.date())

    def notices(items: list[dict], is_personal: bool = False) -> tuple:
        return tuple(n for n, _ in parse_notices(items, personal=is_personal)[0])

    folder = tempfile.TemporaryDirectory(prefix="ss-kiosk-screens-")  # gone with the generator
    cached = cache_of(Path(folder.name) / "broadcast.sqlite3", parse_notices(broadcast)[0])

    def fresh(**hall: object) -> Session:
        session = Session(HallSettings(**hall), today=lambda: TODAY)  # type: ignore[arg-type]
        session.handle(ReadersChanged(("reader",), "reader"))
        session.handle(BroadcastChanged(cached, last_sync=TODAY.timestamp(), stale=False))
        session.handle(Tick(0.0))
        return session

    def signed_in(name: str = "wang-ming", loaded: bool = True) -> Session:
        session = fresh()
        card = sample_card(name)
        session.handle(CardInserted("reader", "3B"))
        session.handle(CardRead("reader", "3B", card))
        for digit in Person.load(PERSONS / f"{name}.json").pin:
            session.handle(Touch("pin_digit", digit))
        session.handle(PinChecked(ok=True, tries_left=None, blocked=False))
        if loaded:
            session.handle(PersonalLoaded(session.visit, "s" * 32, notices(personal[card.ssn], is_personal=True)))
        return session

    session = fresh()
    yield "01-attract", session.view
    cantonese = fresh(chinese_voices=("zh_CN", "yue"))  # [voice] languages = ["zh_CN", "yue"]: 普通话 / 粤语
    cantonese.handle(Touch("chinese_voice"))
    yield CANTONESE_SCENE, cantonese.view
    session.handle(CardInserted("reader", "3B"))
    yield "02-reading", session.view
    session.handle(CardRead("reader", "3B", sample_card("wang-ming")))
    for digit in "12":
        session.handle(Touch("pin_digit", digit))
    yield "03-pin", session.view
    for digit in "3450":
        session.handle(Touch("pin_digit", digit))
    session.handle(PinChecked(ok=False, tries_left=1, blocked=False))
    yield "04-pin-last-try", session.view
    session = signed_in()
    yield "05-notices", session.view
    session.handle(Touch("open_notice", session.view.notices[0].id))
    yield "06-detail", session.view
    with_qr = next(n for n in session.view.notices if n.action_url)
    session.handle(Touch("back"))
    session.handle(Touch("open_notice", with_qr.id))
    yield "07-detail-qr", session.view
    session.handle(PrinterChanged("ready"))  # a hall with a receipt printer: 打印 beside 朗读
    yield "20-detail-print", session.view
    session.handle(PrinterChanged("paper_out"))  # its paper ran out: one calm line instead
    yield "21-detail-printer-out", session.view
    session.handle(PrinterChanged("ready"))
    session.handle(Touch("back"))
    yield "22-notices-print-due", session.view  # the list: 打印要办的事, each notice with a deadline on a slip
    session.handle(PrinterChanged("not_configured"))
    session.handle(Tick(60.0))
    yield "08-idle-warning", session.view
    session.handle(Touch("finish"))
    yield "09-goodbye", session.view
    yield "10-card-expired", signed_in("li-xiuying-expired", loaded=False).view
    offline = signed_in("gulnazar", loaded=False)
    offline.handle(PersonalFailed(offline.visit, "unreachable"))
    yield "11-notices-backend-down", offline.view
    problem = fresh()
    problem.handle(CardInserted("reader", "3B"))
    problem.handle(CardUnreadable("reader", "3B", CardFault.NOT_SOCIAL_SECURITY_CARD, ""))
    yield "12-card-problem", problem.view
    problem.handle(CardRemoved("reader"))
    problem.handle(CardInserted("reader", "3B"))
    problem.handle(CardRead("reader", "3B", sample_card("wang-ming")))
    for digit in "000000":
        problem.handle(Touch("pin_digit", digit))
    problem.handle(PinChecked(ok=False, tries_left=0, blocked=True))
    yield "13-pin-blocked", problem.view
    down = fresh()
    down.handle(ReaderServiceLost("gone"))
    yield "14-no-service", down.view
    down.handle(ReadersChanged((), None))
    yield "15-no-reader", down.view
    yield "16-notices-third-generation", signed_in("zhang-guifang-3rd-gen").view
    waiting = signed_in()
    waiting.handle(Touch("help"))
    waiting.handle(Tick(3 * 60.0 + 5))  # nobody has come for three minutes
    yield "18-help-asked", waiting.view
    waiting.handle(Touch("open_notice", waiting.view.notices[0].id))
    waiting.handle(HelpAnswered(waiting.view.help_id, "acknowledged"))
    yield "19-help-coming", waiting.view
    for fault in THIRD_GENERATION_FAULTS:  # the calm screen each fault of a third-generation read ends on
        third = fresh()
        third.handle(CardInserted("reader", "3B6D"))
        third.handle(CardUnreadable("reader", "3B6D", fault, ""))
        yield f"{FAULT_SCENE}{fault.value.replace('_', '-')}", third.view


def variants() -> Iterator[tuple[str, Callable[[View], View]]]:
    for contrast in (False, True):
        for large in (False, True):
            name = ("hc" if contrast else "default") + ("-x1.5" if large else "-x1")

            def adjust(view: View, contrast: bool = contrast, large: bool = large) -> View:
                return replace(view, prefs=replace(view.prefs, high_contrast=contrast, large_text=large))

            yield name, adjust


def render_all(
    out: Path, languages: tuple[str, ...] = ("zh_CN",), english_variants: tuple[str, ...] = (), only: str = ""
) -> list[Path]:
    """Every scene (or those whose name starts with `only`) in every variant and orientation."""
    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for orientation, (width, height) in SIZES.items():
        window = KioskWindow(post=lambda touch: None)
        window.setFixedSize(width, height)  # the screen does not grow: whatever does not fit is a defect
        window.show()
        for language in languages:
            for scene, view in scenes():
                if not scene.startswith(only) or (language == "en" and scene == CANTONESE_SCENE):
                    continue
                for variant, adjust in variants():
                    if language == "en" and english_variants and variant not in english_variants:
                        continue
                    if scene.startswith(FAULT_SCENE) and variant != "default-x1":
                        continue
                    shown = adjust(replace(view, prefs=replace(view.prefs, language=language)))
                    window.render(shown)
                    window.qr_codes.settle()  # QR codes come from their worker thread
                    app.processEvents()
                    suffix = "" if language == "zh_CN" else f"-{language}"
                    path = out / f"{scene}-{orientation}-{variant}{suffix}.png"
                    window.grab().save(str(path))
                    written.append(path)
        window.close()
    return written


STAFF_STATUS = [
    "本机 kiosk: hall-3-kiosk-1 二楼大厅东侧",
    "读卡器 reader: ok · 卡 card: 插着 in the reader",
    "安全模块 PSAM: 正常 ready · terminal 440100000042",
    printer_line(PrinterChanged("paper_low")),
    "上次同步 last sync: 2026-11-26 09:55",
    "待发送 outbox: 0 waiting, 0 set aside",
    "语音 voice: ready",
    "磁盘 disk free: 41250 MB · version 0.1.0",
]
CHECKED = [
    ("pc/sc service", "pass", "pcscd answers"),
    ("reader", "pass", "using 'REINER SCT cyberJack RFID basis 00 00'"),
    ("card", "pass", "read a generation 3 social security card"),
    ("backend tls", "pass", "certificate valid, expires in 341 days"),
    ("clock", "pass", "within 1 s of the backend's"),
    ("sync", "pass", "synced: 14 new, 0 updated, 0 removed"),
    ("voice test", "fail", "no audio came out (no_voice espeak-ng is not installed)"),
]


TEST_READ = "读卡成功 · card read: 第3代卡 generation 3, 有效期至 valid until 2031-05"


def render_staff(out: Path) -> list[Path]:
    """The staff screens: the PIN pad, the clerk's and the admin's panel, each page of the set-up wizard."""
    import tempfile

    from kiosk.config import from_text
    from kiosk.findings import Finding
    from kiosk.setup import SetupCode
    from ui.app import TEST_READ_HINT, Devices, KioskApp
    from ui.theme import DEFAULT, stylesheet
    from ui.wizard import SetupWizard

    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-shots-"))
    config = from_text(f'[kiosk]\ndata_dir = "{folder}"\n[backend]\nurl = "https://ss.example.cn/api/v1"\n',
                       folder / "config.toml")  # fmt: skip

    def not_started(*_: object, **__: object) -> object:
        raise RuntimeError("the screenshots start no device")

    shown_only = Devices(card_reader=not_started, speech=not_started, setup_checks=lambda config: [])
    written = []
    printed = test_print_line(SlipPrinted(TEST_SLIP, ok=True, state="paper_low"))
    for orientation, (width, height) in SIZES.items():
        kiosk = KioskApp(config, shown_only)
        kiosk.window.setFixedSize(width, height)
        kiosk.window.show()
        kiosk._start_staff_entry(folder)
        panel = kiosk.staff
        panel.status = lambda: STAFF_STATUS
        panel.open()
        for scene, role, card_line, result in (
            ("staff-pin", None, "", ""),
            ("staff-clerk", "clerk", "", "同步已开始 · sync started"),
            ("staff-clerk-test-print", "clerk", "", printed),
            ("staff-admin-test-read", "admin", TEST_READ, TEST_READ_HINT),
        ):  # fmt: skip
            panel.role, panel.card_line, panel.result = role, card_line, result
            panel.render()
            app.processEvents()
            written.append(out / f"{scene}-{orientation}.png")
            kiosk.window.grab().save(str(written[-1]))
        panel.close_panel()
        kiosk.window.close()
        (folder / "setup-code").write_text("40817263\n")  # a new kiosk: the wizard asks for the installer's code first
        wizard = SetupWizard(folder / "config.toml", checks=shown_only.setup_checks,
                             setup_code=SetupCode(folder / "config.toml", folder))  # fmt: skip
        wizard.setStyleSheet(stylesheet(DEFAULT, 1.0))
        wizard.setFixedSize(width, height)
        wizard.show()
        for index, page in enumerate(("kiosk", "backend", "staff", "check"), 1):
            wizard.pages.setCurrentIndex(index - 1)
            wizard._go(index - 1)
            if page == "check":
                wizard._show_findings([Finding(*line) for line in CHECKED])
            app.processEvents()
            written.append(out / f"wizard-{index}-{page}-{orientation}.png")
            wizard.grab().save(str(written[-1]))
        wizard.close()
    return written


SLIP_HALL = Place(name="朝阳区社会保障服务大厅", address="朝阳路12号一层", counter="3号综合窗口")


def slip_pictures(out: Path) -> list[Path]:
    """A printed slip of one notice of each category (the sample data), as the emulated 80 mm printer draws it."""
    from hardware.escpos import PAPER_CELLS, slip_bytes
    from hardware.printer_emulator import printed, render

    broadcast, personal = load_data(today=TODAY.date())
    everything = parse_notices(broadcast)[0] + [n for items in personal.values() for n in parse_notices(items, True)[0]]
    first_of: dict[str, Notice] = {}
    for notice, _ in sorted(everything, key=lambda pair: (not pair[0].deadline, not pair[0].action_url)):
        first_of.setdefault(notice.category, notice)  # one with a deadline and a QR where the category has one
    paths = []
    for category, notice in sorted(first_of.items()):
        job = slip_bytes(lines(slip_for(notice, SLIP_HALL, "hall-3", TODAY), PAPER_CELLS[80]), 80)
        [paper] = printed(job)
        paths.append(render(paper, out / f"slip-{category}.png"))
    return [*paths, a4_picture(first_of["certification_due"], out / "slip-a4-cups.png")]


def a4_picture(notice: Notice, path: Path) -> Path:
    """A slip as a CUPS printer gets it: the PDF page hardware.cups sends to lp, drawn by pdftoppm."""
    import subprocess

    from hardware.cups import slip_pages

    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "slip.pdf"
        pdf.write_bytes(slip_pages((slip_for(notice, SLIP_HALL, "hall-3", TODAY),)))
        subprocess.run(["pdftoppm", "-r", "50", "-singlefile", "-png", str(pdf), str(path.with_suffix(""))],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
    return path


def main() -> int:
    from kiosk.hall.pictures import console_pictures  # Chromium, headless, on a sample hall

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    paths = render_all(out, languages=("zh_CN", "en"), english_variants=("default-x1",)) + render_staff(out)
    paths += console_pictures(out)
    paths += slip_pictures(out)
    # A scene no longer made goes; what other commands make stays (the wizard typed by touch, the booted terminal:
    # deleting every picture before making ours lost the console's, linked from docs/hall-server.md).
    for stale in set(out.glob("[0-9][0-9]-*.png")) - set(paths):
        stale.unlink()
    print(f"{len(paths)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
