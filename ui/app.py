"""Starts the kiosk: the window on the GUI thread, the core, card reader and sync on their own threads."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.config import Config, load
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    PrinterChanged,
    PsamChanged,
    ReaderServiceLost,
    SlipPrinted,
)
from kiosk.findings import Finding
from kiosk.session import (
    Effect,
    HallSettings,
    Listening,
    Preferences,
    Screen,
    Session,
    Speak,
    SpeakNotice,
    StopSpeaking,
    View,
)
from kiosk.slip import TEST_SLIP, Place, Slip, test_slip
from ui.input_method import enable_virtual_keyboard
from ui.texts import fixed_prompt_words, spoken
from ui.window import KioskWindow

if TYPE_CHECKING:
    from kiosk.app import KioskCore
    from kiosk.cache import CachedNotices
    from kiosk.network import NetworkProcess
    from ui.staff import StaffPanel
    from ui.wizard import SetupWizard

log = logging.getLogger(__name__)

LEAVE_KIOSK_MODE = 64  # the exit status systemd does not restart (RestartPreventExitStatus in the unit)
NEW_CONFIG = 65  # within the process: the wizard saved a config, start the kiosk over with it
TEST_READ_HINT = "请插入测试卡，结果在上面 · insert a test card: the result shows above"
STAFF_CARD_EVENTS = (CardInserted, CardRead, CardUnreadable, PinChecked, CardRemoved)


def hall_settings(config: Config) -> HallSettings:
    defaults = Preferences(
        language=config["kiosk.language"],
        high_contrast=config["ui.high_contrast"],
        voice=config["voice.enabled"],
        chinese_voice=config["voice.languages"][0],
    )
    return HallSettings(
        require_pin=config["session.require_pin"],
        idle_warning_s=config["session.idle_warning_s"],
        idle_reset_s=config["session.idle_reset_s"],
        greet_by_name=config["voice.greet_by_name"],
        defaults=defaults,
        chinese_voices=tuple(config["voice.languages"]),
        place=Place.from_config(config),
        kiosk_id=config["kiosk.id"],
    )


class CardReader(Protocol):
    """The card reader thread as the window drives it (hardware.pcsc.CardReaderThread)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def verify_pin(self, pin: str) -> None: ...


class SpeechEngine(Protocol):
    """The voice as the window drives it (hardware.speech_process.SpeechProcess: the voice's own process)."""

    state: Any  # .status and .detail, for staff
    secrets: tuple[str, ...]  # never spoken: the cardholder's numbers and name
    volume: float  # the hall's volume (staff), 0..1
    citizen_db: float  # the citizen's louder/quieter on top, from the session's preferences
    pack_line: str  # how much of today's fixed prompts the hall's voice pack records (kiosk.voicepack.Coverage)
    ready: threading.Event  # set once the voice has started and loaded the pack
    wait_for_screen: Callable[[], object]  # before each prompt's work (kiosk.priority.ScreenFirst.wait)

    def start(self) -> None: ...
    def prepare(self, prompts: Sequence[tuple[str, str]]) -> None: ...
    def say(
        self, text: str, language: str = "zh_CN", slower: bool = False, cache: bool = False,
        interrupt: bool = True, detect: bool = False,
    ) -> bool: ...  # fmt: skip
    def stop(self) -> None: ...
    def close(self) -> None: ...


class ReceiptPrinter(Protocol):
    """The hall's receipt printer as the kiosk drives it (hardware.printer.PrinterThread); reports through post."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def print_slips(self, job: str, slips: tuple[Slip, ...]) -> None: ...
    def look_now(self) -> None: ...


@dataclass(frozen=True)
class Devices:
    """The concrete devices, chosen by the composition root (kiosk/cli.py `devices()`): ui/ knows them only by
    what they do. Each factory is called in KioskApp.start(), after the first paint, so their imports wait too."""

    card_reader: Callable[..., CardReader]  # (post, name_filter=…, psam_filter=…): reports ReaderEvents through post
    speech: Callable[..., SpeechEngine]  # (rate=…, volume=…, player=…, engine=…, on_audio=…, pack=…, prompts=…)
    setup_checks: Callable[[Config], list[Finding]]  # the set-up wizard's live check (kiosk.doctor.setup_checks)
    printer: Callable[..., ReceiptPrinter] | None = None  # (post, kind=…, device=…, paper_mm=…), when [printer] has one


@dataclass
class DemoControls:
    """The demo's tester panel: put a sample card in the emulated reader, or take it out."""

    cards: dict[str, Callable[[], None]] = field(default_factory=dict)
    remove: Callable[[], None] = lambda: None
    staff_pins: dict[str, str] = field(default_factory=dict)  # shown to the tester: hold the top-left corner 5 s


def demo_panel(controls: DemoControls) -> QWidget:
    panel = QWidget(None, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
    panel.setWindowTitle("demo: card")
    box = QVBoxLayout(panel)

    def in_background(action: Callable[[], None]) -> Callable[[], None]:
        return lambda: threading.Thread(target=action, daemon=True).start()  # inserting waits for pcscd's poll

    for name, insert in controls.cards.items():
        button = QPushButton(f"insert: {name}")
        button.clicked.connect(in_background(insert))
        box.addWidget(button)
    out = QPushButton("remove card")
    out.clicked.connect(in_background(controls.remove))
    box.addWidget(out)
    if controls.staff_pins:
        pins = ", ".join(f"{role} {pin}" for role, pin in controls.staff_pins.items())
        box.addWidget(QLabel(f"staff: hold the top-left corner 5 s\nPINs: {pins}"))
    panel.setStyleSheet("QWidget { font-size: 18px; } QPushButton { min-height: 40px; padding: 4px 12px; }")
    return panel


class KioskApp:
    """Everything the kiosk runs, wired together. The window comes first and paints at once; the devices,
    the network and their imports follow in start(), so the attract screen is up before they are."""

    def __init__(self, config: Config, devices: Devices, player: Sequence[str] | None = None) -> None:
        self.config = config
        self.devices = devices
        self.player = player  # how audio reaches the speaker; None: aplay when there is a sound card
        self.hall = hall_settings(config)
        self.window = KioskWindow(
            post=self.post, hall_scale=config["ui.text_scale"], orientation=config["ui.orientation"]
        )
        self.window.render(View(prefs=self.hall.defaults, chinese_voices=self.hall.chinese_voices))
        self.core: KioskCore | None = None
        self.reader: CardReader | None = None
        self.network: NetworkProcess | None = None
        self.cache: CachedNotices | None = None
        self.speech: SpeechEngine | None = None
        self.staff: StaffPanel | None = None
        self.wizard: SetupWizard | None = None
        self.card_in = False
        self.psam = PsamChanged.unseen(config["reader.psam_filter"])
        self.printer: ReceiptPrinter | None = None
        self.printer_state = PrinterChanged("not_configured")

    def worker_state(self) -> dict:
        """What the network worker's heartbeat says of the devices (asked on its watch thread)."""
        return {"reader": self.reader_state(), "psam": self.psam.status, "printer": self.printer_state.state,
                "voice": self.speech.state.status if self.speech else "off"}  # fmt: skip

    def reader_state(self) -> str:
        """For the heartbeat: what the hall's staff need to know about the reader."""
        screen = self.core.session.view.screen if self.core else None
        return {Screen.NO_SERVICE: "no_service", Screen.NO_READER: "no_reader"}.get(screen, "ok")  # type: ignore[arg-type]

    def post(self, event: object) -> None:
        if isinstance(event, PsamChanged):
            self.psam = event  # for staff and the heartbeat; the session only learns of it through a card's fault
        if isinstance(event, PrinterChanged):
            self.printer_state = event  # for staff and the heartbeat; the session shows 打印 or why not
        if isinstance(event, SlipPrinted) and event.job == TEST_SLIP:
            if self.staff is not None:  # staff's test print: how it came out, on the panel; no citizen hears of it
                from kiosk.staff import test_print_line

                self.staff.result_came.emit(test_print_line(event))
            return
        if isinstance(event, CardInserted | CardRemoved | ReaderServiceLost):
            self.card_in = isinstance(event, CardInserted)  # for staff: is a card in the reader now?
        staff_here = self.wizard is not None or (self.staff is not None and self.staff.engaged)
        if staff_here and isinstance(event, STAFF_CARD_EVENTS):
            from kiosk.staff import card_check_line

            self.staff.card_seen.emit(card_check_line(event))  # type: ignore[union-attr]
            if not isinstance(event, CardRemoved):
                return  # a staff member's test card starts no citizen's session
        if isinstance(event, CardRead) and self.speech is not None:
            card = event.card
            self.speech.secrets = (card.ssn, card.card_no, card.card_id, card.name if len(card.name) > 1 else "")
        elif isinstance(event, CardRemoved | ReaderServiceLost) and self.speech is not None:
            self.speech.secrets = ()
        if self.core is not None:  # a touch in the first instant, before the core runs, is not lost work
            self.core.post(event)  # type: ignore[arg-type]

    def speak(self, effect: Effect) -> None:
        """The session's Speak effects, in the citizen's language and pace (core thread)."""
        speech, core = self.speech, self.core
        if speech is None or core is None:
            return
        prefs = core.session.view.prefs
        speech.citizen_db = prefs.gain_db  # back to 0 with the hall's defaults when the session ends
        if isinstance(effect, StopSpeaking) or not prefs.voice:
            speech.stop()
            return
        if isinstance(effect, SpeakNotice):
            notice = core.session.notice(effect.notice_id)
            if notice is None:
                return
            for words in (notice.speak, notice.title):  # a refused text: the title at least
                if words and speech.say(words, prefs.speech_language, prefs.slower, interrupt=effect.interrupt,
                                        detect=True):  # fmt: skip
                    break
            if notice.bring:  # what to take to the counter, said last: what the citizen keeps in mind
                things = spoken("detail.bring", prefs.language, things=notice.things_to_bring)
                speech.say(things, prefs.speech_language, prefs.slower, interrupt=False, detect=True)
            return
        if isinstance(effect, Speak):
            key, params = effect.key, dict(effect.params)
            if key == "notices.greeting_named" and prefs.language != "zh_CN":
                key, params = "notices.greeting", {}  # an English voice cannot say a Chinese surname
            if "gender" in params:
                params["honorific"] = spoken(f"honorific.{params.pop('gender')}", prefs.language)
            fixed = not params  # prompts without blanks are the same every time: worth keeping
            text = spoken(key, prefs.language, **params)
            speech.say(text, prefs.speech_language, prefs.slower, cache=fixed, interrupt=effect.interrupt)

    def start(self) -> None:
        from kiosk.app import GIL_TURN_S, KioskCore, china_now
        from kiosk.cache import CachedNotices
        from kiosk.network import NetworkProcess

        self.window.build_ahead()  # before the devices' threads compete for the GIL
        sys.setswitchinterval(GIL_TURN_S)
        self.window.qr_codes.prepare()
        config, data = self.config, self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.cache = CachedNotices(data / "broadcast.sqlite3")
        self.reader = self.devices.card_reader(
            self.post, name_filter=config["reader.name_filter"], psam_filter=config["reader.psam_filter"]
        )
        self.network = NetworkProcess(config, on_event=lambda event: self.core.network_event(event),  # type: ignore[union-attr]
                                      state=self.worker_state)  # fmt: skip
        if config["printer.kind"] != "none" and self.devices.printer is not None:
            kind, device, paper_mm = config["printer.kind"], config["printer.device"], config["printer.paper_mm"]
            self.printer = self.devices.printer(self.post, kind=kind, device=device, paper_mm=paper_mm)
        self.core = KioskCore(
            Session(self.hall, today=china_now),
            self.cache,
            self.network,
            verify_pin=self.reader.verify_pin,
            on_view=self.window.show_view,
            on_speech=self.speak,
            print_slips=self.printer.print_slips if self.printer else lambda job, slips: None,
        )
        self._start_staff_entry(data)
        if config["voice.enabled"]:
            self.speech = self.devices.speech(
                rate=config["voice.rate"], volume=config["voice.volume"], player=self.player,
                engine=config["voice.engine"], on_audio=lambda audio: self.post(Listening(audio.seconds)),
                pack=config.file("voice.pack"), prompts=fixed_prompt_words(),
            )  # fmt: skip
            self.speech.wait_for_screen = self.window.screen_first.wait
            self.speech.start()
            # The same fixed prompts a voice pack records, made while idle, in the order a citizen hears them.
            self.speech.prepare([(words, language) for _, language, words in fixed_prompt_words(self.speech_languages)])
        self.core.start()
        self.reader.start()
        if self.printer is not None:
            self.printer.start()
        self.network.start()
        # What start-up made lives as long as the kiosk: full collections need not scan it again (each took
        # 20-40 ms holding the GIL, so the GUI thread too, during a first sync of 10,000 notices).
        gc.freeze()

    def _start_staff_entry(self, data: Path) -> None:
        from kiosk.staff import ADMIN, CLERK, AuditLog, StaffGate
        from ui.staff import CornerHold, StaffAction, StaffPanel

        self.audit = AuditLog(data / "audit.log")
        hashes = {ADMIN: self.config["staff.admin_pin_hash"], CLERK: self.config["staff.clerk_pin_hash"]}
        gate = StaffGate(hashes, data / "staff-lock.json", self.audit)
        actions = [
            StaffAction("立即同步 · sync now", self._staff_sync),
            StaffAction("试读卡 · test read", lambda: TEST_READ_HINT),
            StaffAction("试语音 · test voice", self._staff_voice),
            StaffAction("试打印 · test print", self._staff_print),
            StaffAction("音量 + · volume +", lambda: self._staff_set("voice.volume", +0.1), admin_only=True),
            StaffAction("音量 − · volume −", lambda: self._staff_set("voice.volume", -0.1), admin_only=True),
            StaffAction("默认语言 · language", lambda: self._staff_set("kiosk.language"), admin_only=True),
            StaffAction("字号 · text size", lambda: self._staff_set("ui.text_scale"), admin_only=True),
            StaffAction("高对比 · contrast", lambda: self._staff_set("ui.high_contrast"), admin_only=True),
            StaffAction("设置向导 · setup wizard", self._staff_wizard, admin_only=True),
            StaffAction("退出自助 · leave kiosk", self._staff_leave, admin_only=True),
        ]
        self.staff = StaffPanel(self.window, gate, self.audit, self.staff_status, actions)
        self.corner = CornerHold(self.window, self.staff.open)

    def staff_status(self) -> list[str]:
        from kiosk import __version__
        from kiosk.cache import is_stale
        from kiosk.staff import printer_line, psam_line, voice_line

        data = self.config.data_dir
        last = self.cache.last_sync if self.cache else None
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last)) if last else "never"
        return [
            f"本机 kiosk: {self.config['kiosk.id']} {self.config['kiosk.location']}",
            f"读卡器 reader: {self.reader_state()} · 卡 card: {'插着 in the reader' if self.card_in else '无 none'}",
            psam_line(self.psam),
            printer_line(self.printer_state),
            f"上次同步 last sync: {when}{' (超过24小时 stale)' if self.cache and is_stale(last) else ''}",
            self.outbox_line(),
            self.network.line() if self.network else "网络进程 network worker: 未启动 not started",
            voice_line(self.speech.state.status, self.speech.state.engine, self.speech.state.limits)
            if self.speech
            else "语音 voice: off",
            self.pack_line(),
            screen_line(self.window)[0],
            f"磁盘 disk free: {shutil.disk_usage(data).free // 2**20} MB · version {__version__}",
        ]

    def outbox_line(self) -> str:
        """The staff panel's line on the outbox, as the network worker last reported it."""
        status = self.network.status if self.network else {}
        waiting = status.get("outbox_depth", 0) + (self.network.unconfirmed if self.network else 0)
        held = status.get("held", 0)
        disk = f" · ⚠ 磁盘写不进 disk refuses writes: {held} in memory" if held else ""
        return f"待发送 outbox: {waiting} waiting, {status.get('set_aside', 0)} set aside{disk}"

    @property
    def speech_languages(self) -> tuple[str, ...]:
        """The hall's Chinese voices ([voice] languages), then English: what the voice may be asked to speak in."""
        return (*self.config["voice.languages"], "en")

    def pack_line(self) -> str:
        """The staff panel's line on the hall's recorded prompts: how many of today's the kiosk plays."""
        if not self.config["voice.pack"]:
            return "录音 voice pack: 无 none, every prompt synthesized"
        if self.speech is None or not self.speech.ready.is_set():
            return "录音 voice pack: 正在加载 loading"
        return f"录音 voice pack: {self.speech.pack_line}"

    def _staff_sync(self) -> str:
        if self.network is None:
            return "not started"
        if self.network.backend_error:
            return f"no backend: {self.network.backend_error}"
        self.network.sync_now()
        return "同步已开始 · sync started"

    def _staff_voice(self) -> str:
        if self.speech is None:
            return "voice is switched off (voice.enabled)"
        defaults = self.hall.defaults
        self.speech.say(spoken("attract.prompt", defaults.language), defaults.speech_language)
        return f"语音 voice: {self.speech.state.status} {self.speech.state.detail}"

    def _staff_print(self) -> str:
        if self.printer is None:
            return "没有打印机 no printer ([printer] kind in the config)"
        self.printer.look_now()  # a slip a fault cut off is printed again first, once the printer is fine
        slip = test_slip(self.hall.place, self.hall.kiosk_id, datetime.now().astimezone())
        self.printer.print_slips(TEST_SLIP, (slip,))
        return "试打印 test print: 正在打印 printing…"

    def _staff_set(self, key: str, step: float = 0.0) -> str:
        """Change one hall setting, write the config atomically, and apply it from the next session on."""
        from kiosk.config import Config, write

        old = self.config[key]
        choices = {
            "kiosk.language": ("zh_CN", "en"),
            "ui.text_scale": (1.0, 1.25, 1.5),
            "ui.high_contrast": (False, True),
        }
        if key in choices:
            values = choices[key]
            new = values[(values.index(old) + 1) % len(values)]
        else:
            new = round(min(1.0, max(0.1, old + step)), 2)
        section, _, name = key.partition(".")
        config = Config({**self.config.values, (section, name): new}, self.config.path)
        if config.path is not None:
            try:
                write(config, config.path)
            except OSError as e:
                return f"the config cannot be written ({e.strerror}): nothing changed"
        self.config = config
        self.hall = hall_settings(config)
        if self.core is not None:
            self.core.session.hall = self.hall  # the next session starts with the new defaults
        self.window.hall_scale = config["ui.text_scale"]
        if self.speech is not None:
            self.speech.volume = config["voice.volume"]
        self.audit.write(self.staff.role, "setting changed", f"{key}: {old} → {new}")
        return f"{key}: {old} → {new}"

    def _staff_wizard(self) -> str:
        """The admin changes the set-up: the wizard over the kiosk, pre-filled; saving starts the kiosk over."""
        from ui.wizard import SetupWizard

        if self.config.path is None:
            return "this kiosk runs without a config file: nothing to change"
        role = self.staff.role if self.staff else None
        wizard = SetupWizard(self.config.path, self.config, parent=self.window, checks=self.devices.setup_checks,
                             allow_http=self.config["demo.allow_loopback_http"])  # fmt: skip
        self.wizard = wizard

        def done(config: Config) -> None:
            changed = [f"{s}.{k}" for (s, k), v in config.values.items() if self.config.values.get((s, k)) != v]
            self.audit.write(role, "setup wizard saved", ", ".join(changed))  # key names only, never values
            start_over()

        def cancelled() -> None:
            if wizard.saved is not None:  # saved, then backed out: the file holds the new set-up, so run it
                done(wizard.saved)
                return
            self.audit.write(role, "setup wizard cancelled")
            self.wizard = None
            wizard.deleteLater()

        wizard.finished.connect(done)
        wizard.cancelled.connect(cancelled)
        wizard.setGeometry(self.window.rect())
        wizard.show()
        wizard.raise_()
        if self.staff is not None:
            self.staff.close_panel()
        return "setup wizard"

    def _staff_leave(self) -> str:
        app = QApplication.instance()
        if app is not None:
            app.exit(LEAVE_KIOSK_MODE)
        return "leaving kiosk mode"

    def stop(self) -> None:
        if self.staff is not None and self.staff.isVisible():
            self.staff.close_panel()
        if self.speech is not None:
            self.speech.close()
        if self.network is not None:
            self.network.stop()
        if self.reader is not None:
            self.reader.stop()
        if self.printer is not None:
            self.printer.stop()
        if self.core is not None:
            self.core.stop()
        if self.cache is not None:
            self.cache.close()


def start_over() -> None:
    """Leave the event loop so that run() starts the kiosk again with the config just saved."""
    app = QApplication.instance()
    if app is not None:
        app.exit(NEW_CONFIG)


def sd_notify(message: str) -> bool:
    """Tell systemd (Type=notify): READY=1 once the screen is up, WATCHDOG=1 while the GUI thread lives."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    import socket  # here, not at the top: off the way to the first screen (cold start)

    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            return False
    return True


class GarbageOnGuiThread(QObject):
    """Python's cyclic garbage is collected here, on the GUI thread, never by whichever thread happens to
    allocate: a Qt object freed by a collection on the card or sync thread crashes the process (seen as a
    segfault "Garbage-collecting" in the sync thread; Anki's aqt does the same for the same reason)."""

    def __init__(self, interval_ms: int = 500) -> None:
        super().__init__()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)

    def collect(self) -> None:
        """The generation Python itself would have collected by now, if any (a young one takes microseconds)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


class Watchdog(QObject):
    """Pings systemd's watchdog from the GUI thread's event loop: a frozen screen stops the pings and
    systemd restarts the kiosk (WatchdogSec in deploy/ss-kiosk.service)."""

    def __init__(self, interval_ms: int) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.timeout.connect(lambda: sd_notify("WATCHDOG=1"))
        self.timer.start(interval_ms)

    @classmethod
    def from_environment(cls) -> Watchdog | None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        return cls(max(100, int(usec) // 2000)) if usec.isdigit() else None


def out_of_service(sentence: str, windowed: bool = False) -> int:
    """A config the kiosk cannot run with: a calm screen for citizens, the reason in small print for staff."""
    app = QApplication.instance() or QApplication(sys.argv)
    window = QWidget()
    box = QVBoxLayout(window)
    for words, size in (("暂停服务", 72), ("请到人工窗口办理 · Out of service, please go to the counter", 36),
                        (sentence, 20)):  # fmt: skip
        line = QLabel(words)
        line.setTextFormat(Qt.TextFormat.PlainText)
        line.setWordWrap(True)
        line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        line.setStyleSheet(f"font-size: {size}px; color: #1A1A1A;")
        box.addWidget(line)
    window.setStyleSheet("background: #F7F5EF;")
    show(window, windowed, kiosk_mode=True)  # type: ignore[arg-type]
    sd_notify("READY=1")
    watchdog = Watchdog.from_environment()
    code = app.exec()
    del watchdog
    return code


def run(
    config: Config, devices: Devices, windowed: bool = False, demo: DemoControls | None = None, exit_after_s: float = 0
) -> int:
    """The kiosk until it is told to stop; a config saved by the wizard starts it over in the same process."""
    enable_virtual_keyboard()
    app = QApplication.instance() or QApplication(sys.argv)
    watchdog = Watchdog.from_environment()
    garbage = GarbageOnGuiThread()
    panel = demo_panel(demo) if demo else None
    if panel is not None:
        panel.show()
    if exit_after_s:
        QTimer.singleShot(int(exit_after_s * 1000), app.quit)
    try:
        restarted = False
        while True:
            kiosk = KioskApp(config, devices)
            if restarted:  # the kiosk before is garbage once its window is gone: collected before start() freezes
                kiosk.window.bridge.first_painted.connect(gc.collect, Qt.ConnectionType.QueuedConnection)
            # Devices and network once the attract screen is on the glass: the citizen sees it first.
            kiosk.window.bridge.first_painted.connect(kiosk.start, Qt.ConnectionType.QueuedConnection)
            kiosk.window.bridge.first_painted.connect(lambda: sd_notify("READY=1"))
            show(kiosk.window, windowed, config["ui.kiosk_mode"])
            try:
                code = app.exec()
            finally:
                kiosk.stop()
                kiosk.window.hide()
                kiosk.window.deleteLater()
                gc.unfreeze()  # start() froze this kiosk's objects for good: the next kiosk must not keep them
                restarted = True
            if code != NEW_CONFIG or config.path is None:
                return code
            config = load(config.path)
    finally:
        del watchdog, garbage
        gc.enable()  # Python collects by itself again once no collector runs on the GUI thread


def first_run(config_path: Path, devices: Devices, windowed: bool = False) -> int:
    """No config yet: the wizard, full screen; once it has saved one, the kiosk with it."""
    from kiosk.config import default_data_dir
    from kiosk.setup import SetupCode
    from ui.theme import DEFAULT, stylesheet
    from ui.wizard import SetupWizard

    enable_virtual_keyboard()
    app = QApplication.instance() or QApplication(sys.argv)
    deployed = "INVOCATION_ID" in os.environ  # started by systemd (deploy/ss-kiosk.service), not by a developer
    wizard = SetupWizard(
        config_path, checks=devices.setup_checks, setup_code=SetupCode(config_path, default_data_dir(), deployed)
    )
    wizard.setStyleSheet(stylesheet(DEFAULT, 1.0))
    saved: list[Config] = []
    wizard.finished.connect(lambda config: (saved.append(config), app.exit(NEW_CONFIG)))
    show(wizard, windowed, kiosk_mode=False)  # staff are setting it up: a pointer may be plugged in
    sd_notify("READY=1")
    watchdog, garbage = Watchdog.from_environment(), GarbageOnGuiThread()
    code = app.exec()
    del watchdog, garbage
    gc.enable()
    wizard.hide()
    wizard.deleteLater()
    if code != NEW_CONFIG or not saved:
        return code
    return run(saved[0], devices, windowed)


LAID_OUT_FOR = (1920, 1080)  # DESIGN §1: the terminals' screens, landscape (or the same turned to portrait)


def screen_line(window: QWidget) -> tuple[str, bool]:
    """The staff panel's line on the window's screen (its size) and whether the screens fit it."""
    if window.screen() is None:
        return "屏幕 screen: 无 none", False
    size = window.screen().geometry()
    width, height = size.width(), size.height()
    wide, narrow = max(LAID_OUT_FOR), min(LAID_OUT_FOR)
    if max(width, height) >= wide and min(width, height) >= narrow:
        return f"屏幕 screen: {width}×{height}", True
    return f"屏幕 screen: ⚠ {width}×{height}, smaller than {wide}×{narrow}: buttons may fall off the screen", False


def show(window: QWidget, windowed: bool, kiosk_mode: bool) -> None:
    screen = QGuiApplication.primaryScreen()
    if windowed:
        available = screen.availableGeometry() if screen is not None else None
        width = min(1920, available.width() * 9 // 10) if available else 1280
        height = min(1080, available.height() * 9 // 10) if available else 720
        window.resize(width, height)
        window.show()
        return
    if screen is not None:
        # Without a window manager (cage, bare X) showFullScreen alone may not resize: set the geometry first.
        window.setGeometry(screen.geometry())
        line, fits = screen_line(window)
        if not fits:
            log.warning("%s", line)
    if kiosk_mode:
        QApplication.setOverrideCursor(Qt.CursorShape.BlankCursor)
    window.showFullScreen()
