"""Renders every citizen screen to PNG: landscape and portrait, default and high contrast, ×1 and ×1.5.

`python -m ui.screenshots [OUT_DIR]` (default docs/screenshots). Runs a real window under the
platform Qt is given (xcb under Xvfb, or offscreen); the session is driven with the sample
persons and the sample notices, exactly as the kiosk drives it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtWidgets import QApplication

from hardware.emulator import PERSONS, Person, sample_card
from kiosk.card import CardFault
from kiosk.demo_backend import load_data
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    ReadersChanged,
    ReaderServiceLost,
)
from kiosk.notices import parse_notices
from kiosk.session import (
    BroadcastChanged,
    HallSettings,
    PersonalFailed,
    PersonalLoaded,
    Session,
    Tick,
    Touch,
    View,
)
from ui.window import KioskWindow

ROOT = Path(__file__).resolve().parent.parent
CHINA = timezone(timedelta(hours=8))
TODAY = datetime.now(CHINA).replace(hour=10, minute=0)
SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}


def scenes() -> Iterator[tuple[str, View]]:
    """(name, view) for every screen of the citizen flow, as a session reaches it."""
    broadcast, personal = load_data(today=TODAY.date())

    def notices(items: list[dict], is_personal: bool = False) -> tuple:
        return tuple(n for n, _ in parse_notices(items, personal=is_personal)[0])

    def fresh(**hall: object) -> Session:
        session = Session(HallSettings(**hall), today=lambda: TODAY)  # type: ignore[arg-type]
        session.handle(ReadersChanged(("reader",), "reader"))
        session.handle(BroadcastChanged(notices(broadcast), last_sync=TODAY.timestamp(), stale=False))
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
    session.handle(Touch("back"))
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


def variants() -> Iterator[tuple[str, Callable[[View], View]]]:
    for contrast in (False, True):
        for large in (False, True):
            name = ("hc" if contrast else "default") + ("-x1.5" if large else "-x1")

            def adjust(view: View, contrast: bool = contrast, large: bool = large) -> View:
                return replace(view, prefs=replace(view.prefs, high_contrast=contrast, large_text=large))

            yield name, adjust


def render_all(
    out: Path, languages: tuple[str, ...] = ("zh_CN",), english_variants: tuple[str, ...] = ()
) -> list[Path]:
    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for orientation, (width, height) in SIZES.items():
        window = KioskWindow(post=lambda touch: None)
        window.setFixedSize(width, height)  # the screen does not grow: whatever does not fit is a defect
        window.show()
        for language in languages:
            for scene, view in scenes():
                for variant, adjust in variants():
                    if language == "en" and english_variants and variant not in english_variants:
                        continue
                    shown = adjust(replace(view, prefs=replace(view.prefs, language=language)))
                    window.render(shown)
                    app.processEvents()
                    suffix = "" if language == "zh_CN" else f"-{language}"
                    path = out / f"{scene}-{orientation}-{variant}{suffix}.png"
                    window.grab().save(str(path))
                    written.append(path)
        window.close()
    return written


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    for old in out.glob("*.png"):
        old.unlink()
    paths = render_all(out, languages=("zh_CN", "en"), english_variants=("default-x1",))
    print(f"{len(paths)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
