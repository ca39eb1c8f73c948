"""Starts the kiosk: the window on the GUI thread, the core, card reader and sync on their own threads."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget

from hardware.pcsc import CardReaderThread
from kiosk.app import KioskCore, china_now
from kiosk.cache import BroadcastCache
from kiosk.config import Config
from kiosk.outbox import Outbox
from kiosk.session import Effect, HallSettings, Preferences, Session
from kiosk.sync import Backend, BackendError, BackendSettings, SyncWorker
from ui.window import KioskWindow

log = logging.getLogger(__name__)


def hall_settings(config: Config) -> HallSettings:
    defaults = Preferences(
        language=config["kiosk.language"],
        high_contrast=config["ui.high_contrast"],
        voice=config["voice.enabled"],
    )
    return HallSettings(
        require_pin=config["session.require_pin"],
        idle_warning_s=config["session.idle_warning_s"],
        idle_reset_s=config["session.idle_reset_s"],
        greet_by_name=config["voice.greet_by_name"],
        defaults=defaults,
    )


@dataclass
class DemoControls:
    """The demo's tester panel: put a sample card in the emulated reader, or take it out."""

    cards: dict[str, Callable[[], None]] = field(default_factory=dict)
    remove: Callable[[], None] = lambda: None


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
    panel.setStyleSheet("QWidget { font-size: 18px; } QPushButton { min-height: 40px; padding: 4px 12px; }")
    return panel


def run(config: Config, windowed: bool = False, demo: DemoControls | None = None, exit_after_s: float = 0) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    data = config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    cache = BroadcastCache(data / "broadcast.sqlite3")
    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    try:
        backend: Backend | None = Backend(BackendSettings.from_config(config))
    except BackendError as e:
        log.error("no backend: %s", e)
        backend = None

    core_ref: list[KioskCore] = []
    window = KioskWindow(
        post=lambda touch: core_ref[0].post(touch),
        hall_scale=config["ui.text_scale"],
        orientation=config["ui.orientation"],
    )
    reader = CardReaderThread(lambda event: core_ref[0].post(event), name_filter=config["reader.name_filter"])
    sync: SyncWorker | None = None

    def speak(effect: Effect) -> None:
        log.debug("speech: %s", type(effect).__name__)  # the voice comes with the speech worker

    core = KioskCore(
        Session(hall_settings(config), today=china_now),
        cache,
        outbox,
        backend,
        verify_pin=reader.verify_pin,
        kiosk_id=config["kiosk.id"],
        on_view=window.bridge.changed.emit,
        on_speech=speak,
        on_outbox_change=lambda: sync.kick() if sync else None,
    )
    core_ref.append(core)
    if backend is not None:
        sync = SyncWorker(
            backend, cache, outbox, config["backend.sync_interval_s"], on_result=core.broadcast_changed,
            reader_state=lambda: "ok",
        )  # fmt: skip
    core.start()
    reader.start()
    if sync is not None:
        sync.start()

    show(window, windowed, config["ui.kiosk_mode"])
    panel = demo_panel(demo) if demo else None
    if panel is not None:
        panel.show()
    if exit_after_s:
        QTimer.singleShot(int(exit_after_s * 1000), app.quit)
    try:
        return app.exec()
    finally:
        if sync is not None:
            sync.stop()
        reader.stop()
        core.stop()
        cache.close()
        outbox.close()


def show(window: KioskWindow, windowed: bool, kiosk_mode: bool) -> None:
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
    if kiosk_mode:
        QApplication.setOverrideCursor(Qt.CursorShape.BlankCursor)
    window.showFullScreen()
