"""The set-up wizard: shown when the kiosk has no config, or opened by an admin from the staff panel.

Four pages — this kiosk, the backend, the staff PINs, the live check — each with its step, back and
next at the top; the on-screen keyboard (ui.keyboard, pinyin included) takes the bottom of the window
while a field is typed in, and the page scrolls above it.
A page's answers are checked by `kiosk.setup` before the next page; the last page saves the config and
checks the reader (a card is read), the backend (TLS and one sync) and the voice (a test prompt).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QScroller,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import Config, ConfigError
from kiosk.findings import FAIL, PASS, WARN, Finding
from kiosk.setup import (
    CERT_SUFFIXES,
    KEY_SUFFIXES,
    LABELS,
    PAGES,
    SetupCode,
    SetupForm,
    candidate_files,
    problems,
    save,
    search_folders,
)
from ui.input_method import virtual_keyboard_enabled
from ui.keyboard import OnScreenKeyboard
from ui.theme import GAP_PX, SCREEN
from ui.widgets import button, frame, label

PAGE_TITLES = {
    "kiosk": "1/4 本机 · this kiosk",
    "backend": "2/4 后台 · backend",
    "staff": "3/4 工作人员密码 · staff PINs",
    "check": "4/4 保存并检查 · save and check",
}
CHOICES = {
    "language": (("zh_CN", "中文"), ("en", "English")),
    "orientation": (("auto", "自动 auto"), ("landscape", "横屏 landscape"), ("portrait", "竖屏 portrait")),
    "require_pin": ((True, "要输卡密码 card PIN asked"), (False, "不输卡密码 no card PIN")),
    "printer_kind": (("none", "没有 none"), ("escpos-network", "网络小票机 network"),
                     ("escpos-device", "USB/串口小票机 USB, serial"), ("cups", "CUPS 打印机 CUPS")),
    "paper_mm": ((80, "80 mm"), (58, "58 mm")),
}  # fmt: skip
CHOICE_TITLES = {"language": "默认语言 · language", "orientation": "屏幕方向 · orientation",
                 "require_pin": "查看个人通知前 · before personal notices", "printer_kind": LABELS["printer_kind"],
                 "paper_mm": LABELS["paper_mm"]}  # fmt: skip
MARKS = {PASS: "✔ 通过 pass", WARN: "⚠ 注意 warn", FAIL: "✘ 失败 fail"}
IDLE_MS = 300_000  # opened over a running kiosk and left: cancelled, so no citizen finds the admin's set-up
KEYBOARD_SHARE = 0.40  # of the window at most: the field being typed and the page's buttons stay in sight
PAGE_MIN_PX = 130  # what the keyboard leaves the page at least: the field being typed
KEYBOARD_MIN_PX = 260  # below this (with the candidate row) the keys are too small for a finger


class _Results(QObject):
    arrived = Signal(list)  # the live check's findings, from its thread to the GUI thread


class SetupWizard(QWidget):
    """Pages of large fields; `finished` carries the saved Config, `cancelled` a return to the kiosk."""

    finished = Signal(object)
    cancelled = Signal()

    def __init__(
        self,
        config_path: Path,
        existing: Config | None = None,
        parent: QWidget | None = None,
        *,
        checks: Callable[[Config], list[Finding]],  # the live check, handed down by the composition root
        allow_http: bool = False,
        setup_code: SetupCode | None = None,
    ) -> None:
        super().__init__(parent)
        self.config_path, self.existing, self.checks, self.allow_http = config_path, existing, checks, allow_http
        # A new kiosk asks for the code its installer printed; an admin changing the set-up has passed the PIN.
        self.setup_code = setup_code if setup_code and setup_code.required() and existing is None else None
        self.code_accepted = self.setup_code is None
        self.form = SetupForm.from_config(existing) if existing else SetupForm()
        self.saved: Config | None = None
        self.checks_shown: list[Finding] = []
        self.fields: dict[str, QLineEdit] = {}
        self.choice_buttons: dict[str, list[tuple[object, QPushButton]]] = {}
        self.keyboard: OnScreenKeyboard | None = None  # made below the pages, once they are built
        self.said = ""  # the problems (or news) of the page, all of them; fewer may show above the keyboard
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setObjectName(SCREEN)
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.timeout.connect(self._left_open)
        self.results = _Results(self)
        self.results.arrived.connect(self._show_findings)
        outer = QVBoxLayout(self)
        outer.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # never taller than the screen
        outer.setContentsMargins(32, 24, 32, 24)
        outer.setSpacing(GAP_PX)
        head = QHBoxLayout()
        head.setSpacing(GAP_PX)
        self.title = label("", "title")
        self.back = button("上一步 · back", self._back)
        self.next = button("下一步 · next", self._next, "primary")
        head.addWidget(self.title, 1)
        head.addWidget(self.back)
        head.addWidget(self.next)
        outer.addLayout(head)
        self.head = head
        self.problem = label("", "subtitle")
        outer.addWidget(self.problem)
        self.pages = QStackedWidget()
        builders = {"kiosk": self._kiosk_page, "backend": self._backend_page, "staff": self._staff_page,
                    "check": self._check_page}  # fmt: skip
        for name in PAGES:
            box = QVBoxLayout()
            box.setSpacing(GAP_PX)
            builders[name](box)
            box.addStretch(1)
            inner = QWidget()
            inner.setLayout(box)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(inner)
            QScroller.grabGesture(scroll.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture)
            scroll.viewport().installEventFilter(self)  # shrunk by the keyboard: the field stays in view
            self.pages.addWidget(scroll)
        outer.addWidget(self.pages, 1)
        self.outer = outer
        if virtual_keyboard_enabled():
            self.keyboard = OnScreenKeyboard(self)
            outer.addWidget(self.keyboard, 0, Qt.AlignmentFlag.AlignHCenter)
            QGuiApplication.inputMethod().visibleChanged.connect(self._keyboard_came_or_went)
        self._go(0)

    # -- pages -----------------------------------------------------------------------------------
    def _kiosk_page(self, box: QVBoxLayout) -> None:
        if self.setup_code is not None:
            self.code_label = label(LABELS["setup_code"], "subtitle")
            box.addWidget(self.code_label)
            box.addWidget(self._line_edit("setup_code", "8位数字 · 8 digits", secret=True, digits=True))
        self._field(box, "kiosk_id", "例如 · e.g. hall-03-kiosk-1")
        self._field(box, "location", "例如 · e.g. 二楼大厅东侧", latin=False)  # pinyin on the keyboard
        for name in ("language", "orientation", "require_pin"):
            self._choice(box, name)
        box.addWidget(label("小票打印 · the printed slip", "title"))
        self._field(box, "hall_name", "例如 · e.g. 朝阳区社会保障服务大厅", latin=False)
        self._field(box, "hall_address", "例如 · e.g. 朝阳路12号一层", latin=False)
        self._field(box, "hall_counter", "例如 · e.g. 3号综合窗口", latin=False)
        self._choice(box, "printer_kind")
        self._field(box, "printer_device", "192.168.1.50 · /dev/usb/lp0 · CUPS 队列 queue")
        self._choice(box, "paper_mm")

    def _backend_page(self, box: QVBoxLayout) -> None:
        self._field(box, "backend_url", "https://…/api/v1", Qt.InputMethodHint.ImhUrlCharactersOnly)
        self._field(box, "token", "后台给的令牌 · the backend's token", secret=True)
        folders = search_folders(self.config_path)
        certificates, keys = candidate_files(CERT_SUFFIXES, folders), candidate_files(KEY_SUFFIXES, folders)
        self._field(box, "ca_file", "留空：系统证书 · empty: the system's CAs", files=certificates)
        self._field(box, "client_cert", "可不填 · optional", files=certificates)
        self._field(box, "client_key", "可不填 · optional", files=keys)

    def _staff_page(self, box: QVBoxLayout) -> None:
        keep = "（留空：不改 · empty: keep the current one）" if self.existing else ""
        for role in ("admin_pin", "clerk_pin"):
            box.addWidget(label(LABELS[role] + keep, "subtitle"))
            row = QHBoxLayout()
            row.setSpacing(GAP_PX)
            for name, hint in ((role, "6–12位数字 · 6–12 digits"), (role + "_again", "再输一次 · once more")):
                row.addWidget(self._line_edit(name, hint, secret=True, digits=True))
            box.addLayout(row)

    def _check_page(self, box: QVBoxLayout) -> None:
        box.addWidget(label("请在读卡器插入一张社保卡，再点“保存并检查”。 · Put a social security card in the reader, "
                            "then tap “save and check”. 有打印机的，会打一张测试小票。 · A kiosk with a printer prints "
                            "a test slip.", "subtitle"))  # fmt: skip
        self.check_button = button("保存并检查 · save and check", self._save_and_check, "primary")
        box.addWidget(self.check_button)
        self.findings_box = QVBoxLayout()
        self.findings_box.setSpacing(8)
        box.addLayout(self.findings_box)

    # -- building blocks ---------------------------------------------------------------------------
    def _line_edit(self, name: str, hint: str, secret: bool = False, digits: bool = False, latin: bool = True,
                   hints: Qt.InputMethodHint = Qt.InputMethodHint.ImhNone) -> QLineEdit:  # fmt: skip
        edit = QLineEdit(str(getattr(self.form, name)))
        edit.setPlaceholderText(hint)
        edit.setMinimumHeight(96)
        edit.setObjectName(name)
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            hints |= Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText
        if digits:
            hints |= Qt.InputMethodHint.ImhDigitsOnly
        elif latin:
            hints |= Qt.InputMethodHint.ImhLatinOnly  # ids, URLs, tokens, paths: the latin keys, not pinyin
        edit.setInputMethodHints(hints | Qt.InputMethodHint.ImhNoAutoUppercase)
        edit.textChanged.connect(lambda text, n=name: (setattr(self.form, n, text), self._touched()))
        edit.installEventFilter(self)
        edit.returnPressed.connect(lambda n=name: self._field_after(n))
        self.fields[name] = edit
        return edit

    def _field(self, box: QVBoxLayout, name: str, hint: str, hints: Qt.InputMethodHint = Qt.InputMethodHint.ImhNone,
               secret: bool = False, files: list[Path] | None = None, latin: bool = True) -> None:  # fmt: skip
        """A label, the files to pick from (above the field: the keyboard covers what is below), the field."""
        box.addWidget(label(LABELS[name], "subtitle"))
        if files:
            self._pick(box, name, files)
        box.addWidget(self._line_edit(name, hint, secret=secret, hints=hints, latin=latin))

    def _pick(self, box: QVBoxLayout, name: str, files: list[Path]) -> None:
        """Files found in the config folder and on USB sticks: one touch instead of typing a path."""
        grid = QGridLayout()
        grid.setSpacing(GAP_PX)
        for position, path in enumerate(files[:6]):
            pick = button(path.name, lambda _=False, p=path: self.fields[name].setText(str(p)))
            pick.setObjectName(f"pick:{name}:{path.name}")
            pick.setToolTip(str(path))
            grid.addWidget(pick, position // 3, position % 3)
        box.addLayout(grid)

    def _choice(self, box: QVBoxLayout, name: str) -> None:
        box.addWidget(label(CHOICE_TITLES[name], "subtitle"))
        row = QHBoxLayout()
        row.setSpacing(GAP_PX)
        self.choice_buttons[name] = []
        for value, words in CHOICES[name]:
            choice = button(words, lambda _=False, n=name, v=value: self._choose(n, v))
            choice.setCheckable(True)
            self.choice_buttons[name].append((value, choice))
            row.addWidget(choice)
        box.addLayout(row)
        self._choose(name, getattr(self.form, name))

    def _choose(self, name: str, value: object) -> None:
        self._touched()
        setattr(self.form, name, value)
        for option, choice in self.choice_buttons[name]:
            choice.setChecked(option == value)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """One tap on a field brings the keyboard (Qt's default wants a second tap on a focused field); the
        keyboard came or grew (pinyin's candidates) and the page shrank: the field is still in view."""
        if event.type() == QEvent.Type.Resize and isinstance(watched, QWidget) and not isinstance(watched, QLineEdit):
            QTimer.singleShot(0, self, self._keep_focused_visible)  # not after the wizard is gone
        elif event.type() == QEvent.Type.FocusIn and isinstance(watched, QLineEdit):
            self._touched()
            QGuiApplication.inputMethod().show()
            self._keyboard_language()
            self._keep_visible(watched)
        return False

    def _keyboard_came_or_went(self) -> None:
        self._fit_keyboard()  # all the problems again once it went
        self._keyboard_language()

    def _keyboard_language(self) -> None:
        """Latin keys (with shift) for ids, URLs, tokens and paths; pinyin for words; the 🌐 key toggles the two."""
        focused = QGuiApplication.focusObject()
        if self.keyboard is None or not isinstance(focused, QLineEdit):
            return
        settings = self.keyboard.settings()
        settings.setProperty("activeLocales", ["zh_CN", "en_GB"])
        latin = bool(focused.inputMethodHints() & Qt.InputMethodHint.ImhLatinOnly)
        settings.setProperty("locale", "en_GB" if latin else "zh_CN")

    def _field_after(self, name: str) -> None:
        """The keyboard's ↵ goes to the next field of the page, as on a phone; on the last one, to the next page."""
        names = [n for n in self.fields if self.pages.currentWidget().isAncestorOf(self.fields[n])]
        after = names[names.index(name) + 1 :] if name in names else []
        if after:
            self.fields[after[0]].setFocus()
        else:
            QGuiApplication.inputMethod().hide()
            self._next()

    def _keep_focused_visible(self) -> None:
        focused = QGuiApplication.focusObject()
        if isinstance(focused, QLineEdit):
            self._keep_visible(focused)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_keyboard()

    def _fit_keyboard(self) -> None:
        """The keyboard takes what the header and the problems leave, at most KEYBOARD_SHARE of the window, and
        leaves the page PAGE_MIN_PX. On a short screen the problems the keys have no room for are counted, not
        shown (the first ones stay): the keys, the field and every line shown stay whole on the glass."""
        if self.keyboard is None:
            return
        margins, spacing = self.outer.contentsMargins(), self.outer.spacing()
        width = self.width() - margins.left() - margins.right()
        page = max(PAGE_MIN_PX, self.pages.minimumSizeHint().height())
        fixed = margins.top() + margins.bottom() + self.head.sizeHint().height() + 2 * spacing + page
        lines, said = self.said.splitlines(), 0
        for shown in range(len(lines), 0, -1):
            more = len(lines) - shown
            text = "\n".join(lines[:shown] + ([f"…还有{more}条 · {more} more"] if more else []))
            self.problem.setText(text)
            said = self.problem.heightForWidth(width) + spacing
            if self.height() - fixed - said >= KEYBOARD_MIN_PX or not self.keyboard.isVisible():
                break
        self.problem.setMinimumHeight(max(0, said - spacing))  # every line shown readable: the page gives way
        room = self.height() - fixed - said
        self.keyboard.fit(width, max(KEYBOARD_MIN_PX, min(round(KEYBOARD_SHARE * self.height()), room)))

    def _keep_visible(self, field: QLineEdit) -> None:
        scroll = self.pages.currentWidget()
        if isinstance(scroll, QScrollArea) and scroll.widget().isAncestorOf(field):
            # the whole field, not only its cursor (ensureWidgetVisible keeps a line edit's cursor in view)
            centre = field.mapTo(scroll.widget(), field.rect().center())
            scroll.ensureVisible(centre.x(), centre.y(), 0, field.height() // 2 + 16)

    # -- moving between pages ----------------------------------------------------------------------
    @property
    def page(self) -> str:
        return PAGES[self.pages.currentIndex()]

    def _touched(self) -> None:
        if self.existing is not None:  # a new kiosk's wizard has nothing to protect and waits for its engineer
            self.idle.start(IDLE_MS)

    def _left_open(self) -> None:
        if not self.check_button.isEnabled():  # the live check runs: its thread reports to this page
            self._touched()
            return
        QGuiApplication.inputMethod().hide()
        self.cancelled.emit()

    def _go(self, index: int) -> None:
        self._touched()
        self.pages.setCurrentIndex(index)
        self.title.setText(PAGE_TITLES[self.page])
        self.back.setText("上一步 · back" if index else ("取消 · cancel" if self.existing else "上一步 · back"))
        self.back.setEnabled(index > 0 or self.existing is not None)
        last = self.page == "check"
        self.next.setText("完成 · finish" if last else "下一步 · next")
        self.next.setEnabled(not last or self.saved is not None)
        self._say("")

    def _say(self, words: str) -> None:
        self.said = words
        self.problem.setText(words)
        self.problem.setVisible(bool(words))
        self._fit_keyboard()

    def _back(self) -> None:
        if self.pages.currentIndex() == 0:
            self.cancelled.emit()
            return
        self._go(self.pages.currentIndex() - 1)

    def _next(self) -> None:
        if self.page == "check":
            if self.saved is not None:
                self.finished.emit(self.saved)
            return
        if not self._code_accepted():
            return
        found = problems(self.form, self.page, self.existing, self.allow_http)
        if found:
            self._say("\n".join(found))
            return
        self._go(self.pages.currentIndex() + 1)

    def _code_accepted(self) -> bool:
        """The setup code, checked once (wrong ones count towards the lock); then its field goes."""
        if self.code_accepted or self.setup_code is None:
            return True
        answer = self.setup_code.enter(self.form.setup_code)
        self.fields["setup_code"].clear()
        if isinstance(answer, str) or answer.role is None:
            self._say(answer if isinstance(answer, str) else answer.refusal("安装码", "setup code"))
            return False
        self.code_accepted = True
        self.code_label.hide()
        self.fields["setup_code"].hide()
        return True

    def _save_and_check(self) -> None:
        if not self._code_accepted():
            return
        for page in PAGES:
            if found := problems(self.form, page, self.existing, self.allow_http):
                self._say("\n".join(found))
                return
        try:
            self.saved = save(self.form, self.config_path, self.existing)
        except (ConfigError, OSError) as e:
            self._say(f"没有保存 · not saved: {e}")
            return
        if self.setup_code is not None:
            self.setup_code.used()
        self._say(f"已保存 · saved: {self.config_path}")
        self.check_button.setEnabled(False)
        self._show_findings([Finding("…", "wait", "检查中，请插卡 · checking, put a card in the reader")])
        config = self.saved
        threading.Thread(target=self._check_in_background, args=(config,), daemon=True).start()

    def _check_in_background(self, config: Config) -> None:
        """The live check's thread: it always reports, or the page would wait with back and finish disabled."""
        try:
            found = self.checks(config)
        except Exception as e:
            found = [Finding("check", FAIL, f"the check failed ({type(e).__name__}: {e})")]
        with contextlib.suppress(RuntimeError):  # the wizard went meanwhile (the kiosk stopped)
            self.results.arrived.emit(found)

    def _show_findings(self, findings: list[Finding]) -> None:
        self._touched()
        self.checks_shown = findings
        while (item := self.findings_box.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        for finding in findings:
            line = QVBoxLayout()
            line.addWidget(label(f"{MARKS.get(finding.status, finding.status)} · {finding.check}", "title"))
            line.addWidget(label(finding.message))
            self.findings_box.addWidget(frame("card", line, urgent=finding.status == FAIL))
        done = not findings or findings[0].status != "wait"
        if done:
            failed = [f.check for f in findings if f.status == FAIL]
            warned = [f.check for f in findings if f.status == WARN]
            note = f"; ⚠ 注意 · see: {', '.join(warned)}" if warned else ""
            self._say((f"✘ 失败 · failed: {', '.join(failed)}" if failed else "✔ 可以使用 · ready to serve") + note)
        self.check_button.setEnabled(done)
        self.back.setEnabled(done)  # not away while the check runs: its thread reports to this page
        self.next.setEnabled(done and self.saved is not None)
