"""The calm screens: device maintenance, no reader, a card problem, a blocked PIN, an expired card.

Each says what happened and what to do, in plain words, with at most one action.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.session import Screen, View
from ui.texts import TEXTS, show_date, text
from ui.widgets import Action, Page, Picture, label


class MessagePage(Page):
    def build(self, view: View) -> None:
        screen = view.screen
        if screen == Screen.CARD_PROBLEM and view.card_fault is not None:
            heading_key = "card_problem.title_kiosk_side" if view.card_fault.kiosk_side else "card_problem.title"
            title, body = text(heading_key), text(f"card_problem.{view.card_fault.value}")
        elif screen == Screen.CARD_EXPIRED and view.expired_on is not None:
            title = text("card_expired.title")
            body = text("card_expired.body", date=show_date(view.expired_on, view.prefs.language))
        else:
            title, body = text(f"{screen.value}.title"), text(f"{screen.value}.body")
        self.box.addStretch(1)
        heading = label(title, "title")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.box.addWidget(heading)
        words = label(body)
        words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.box.addWidget(words)
        note = f"staff_note.{view.card_fault.value}" if screen == Screen.CARD_PROBLEM and view.card_fault else ""
        if note in TEXTS:  # which part failed, for the member of staff the citizen is sent to
            staff_line = label(text(note), "muted")
            staff_line.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.box.addWidget(staff_line)
        if screen in (Screen.CARD_PROBLEM, Screen.PIN_BLOCKED):
            self.box.addWidget(Picture("take-card", 320), 0, Qt.AlignmentFlag.AlignHCenter)
        self.box.addStretch(1)

    def actions(self, view: View) -> list[Action]:
        if view.screen == Screen.CARD_EXPIRED:
            return [Action(text("card_expired.continue"), "continue", "primary")]
        return []
