"""The hidden staff entry: hold the top-left corner for 5 s, then a staff PIN; then the staff panel.

The panel shows what hall staff check in the morning and lets them act; every action goes to
the audit log. Admins may also leave kiosk mode; clerks may not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.staff import ADMIN, AuditLog, StaffGate
from ui.theme import GAP_PX, SCREEN
from ui.widgets import button, clear, frame, label

CORNER_PX = 120
HOLD_MS = 5000
IDLE_MS = 120_000  # a panel left open closes by itself: the next person at the kiosk is a citizen
ROLE_NAMES = {ADMIN: "管理员 admin", "clerk": "业务员 clerk"}


@dataclass
class StaffAction:
    title: str
    run: Callable[[], str]  # returns one line for the panel
    admin_only: bool = False


class CornerHold(QObject):
    """Five seconds on the top-left corner opens the staff PIN pad; lifting the finger earlier does nothing.

    It watches the window's QWindow, where every touch and click arrives before Qt hands it to a widget
    (a press on a button in the corner counts too): a few Python calls per press, where an application-wide
    filter cost one for each of the hundreds of events a screen change sends to its widgets."""

    def __init__(self, window: QWidget, on_hold: Callable[[], None]) -> None:
        super().__init__(window)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(HOLD_MS)
        self.timer.timeout.connect(on_hold)
        window.winId()  # the QWindow exists from here on
        window.windowHandle().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            where = event.position()  # in the window's own coordinates
            if where.x() < CORNER_PX and where.y() < CORNER_PX:
                self.timer.start()
        elif event.type() == QEvent.Type.MouseButtonRelease:
            self.timer.stop()
        return False


class StaffPanel(QWidget):
    """Over the citizen's screen: first the PIN pad, then the status and the actions of the role.

    While it is open the reader's card events come here (`card_seen`), not to a citizen's session:
    a card put in now is a staff member's test card."""

    card_seen = Signal(str)  # from the card thread: one line on the test read
    result_came = Signal(str)  # from a device's thread: how an action that takes a while came out (a test print)

    def __init__(
        self,
        window: QWidget,
        gate: StaffGate,
        audit: AuditLog,
        status: Callable[[], list[str]],
        actions: list[StaffAction],
    ) -> None:
        super().__init__(window)
        self.gate, self.audit, self.status, self.actions = gate, audit, status, actions
        self.role: str | None = None
        self.pin = ""
        self.message = "请输入工作人员密码 · staff PIN"
        self.result = ""
        self.card_line = ""
        self.engaged = False  # read from the card thread: is a staff member at the kiosk?
        self.card_seen.connect(self._card_seen)
        self.result_came.connect(self._result_came)
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.timeout.connect(self._left_open)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # nothing of the citizen's screen shows through
        self.setObjectName(SCREEN)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(48, 48, 48, 48)
        self.box.setSpacing(GAP_PX)
        self.hide()

    def open(self) -> None:
        self.engaged = True
        self.role, self.pin, self.result, self.card_line = None, "", "", ""
        self.message = "请输入工作人员密码 · staff PIN"
        self.setGeometry(self.parentWidget().rect())
        self.render()
        self.show()
        self.raise_()

    def close_panel(self) -> None:
        if self.role:
            self.audit.write(self.role, "staff panel closed")
        self.role, self.pin = None, ""
        self.engaged = False
        self.idle.stop()
        self.hide()

    def _left_open(self) -> None:
        if self.role:
            self.audit.write(self.role, "staff panel left open: closed")
        self.close_panel()

    def _card_seen(self, line: str) -> None:
        self.card_line = line
        if self.role is not None and self.isVisible():  # a line that arrives after the panel closed is dropped
            self.render()

    def _result_came(self, line: str) -> None:
        self.result = line
        if self.role is not None and self.isVisible():
            self.render()

    def render(self) -> None:
        self.idle.start(IDLE_MS)  # each key, action or test read counts as staff still being here
        clear(self.box)
        inner = QVBoxLayout()
        inner.setSpacing(GAP_PX)
        (self._pin_pad if self.role is None else self._menu)(inner)
        self.box.addWidget(frame("overlay", inner))

    def _pin_pad(self, box: QVBoxLayout) -> None:
        box.addWidget(label(self.message, "title"))
        box.addWidget(label("●" * len(self.pin) + "○" * max(0, 6 - len(self.pin)), "dots"))
        grid = QGridLayout()
        grid.setSpacing(GAP_PX)
        for position, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]):
            grid.addWidget(button(key, lambda _=False, k=key: self._key(k), "key"), position // 3, position % 3)
        box.addLayout(grid)
        box.addWidget(button("取消 · cancel", self.close_panel))

    def _key(self, key: str) -> None:
        if key == "⌫":
            self.pin = self.pin[:-1]
        elif key == "OK":
            entry = self.gate.enter(self.pin)
            self.pin = ""
            if entry.role:
                self.role = entry.role
            else:
                self.message = entry.refusal()
        elif len(self.pin) < 12:
            self.pin += key
        self.render()

    def _menu(self, box: QVBoxLayout) -> None:
        wide = self.width() > self.height()
        box.addWidget(label(f"工作人员 · staff: {ROLE_NAMES.get(self.role or '', self.role)}", "title"))
        status = QGridLayout()
        status.setHorizontalSpacing(GAP_PX)
        columns = 2 if wide else 1  # the status in two columns on a wide screen: room for the buttons below
        for position, line in enumerate(self.status()):
            status.addWidget(label(line), position // columns, position % columns)
        box.addLayout(status)
        if self.card_line:
            box.addWidget(label(f"试读卡 test read: {self.card_line}", "subtitle"))
        if self.result:
            box.addWidget(label(self.result, "subtitle"))
        box.addStretch(1)
        grid = QGridLayout()
        grid.setSpacing(GAP_PX)
        allowed = [a for a in self.actions if self.role == ADMIN or not a.admin_only]
        columns = 4 if wide else 2
        for position, action in enumerate(allowed):
            widget = button(action.title, lambda _=False, a=action: self._run(a))
            grid.addWidget(widget, position // columns, position % columns)
        for column in range(columns):
            grid.setColumnStretch(column, 1)  # equal columns: no title is squeezed
        box.addLayout(grid)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button("关闭 · close", self.close_panel, "primary"))
        box.addLayout(row)

    def _run(self, action: StaffAction) -> None:
        if action.admin_only and self.role != ADMIN:
            return
        self.audit.write(self.role, action.title)
        self.result = action.run()
        self.render()
