"""The kiosk core at run time: the session on its own thread, its effects carried out with the real devices.

Qt-free: the UI gives it two callbacks (a new view; something to say) and posts touches to it;
the card reader thread and the network worker's events (kiosk/network.py) reach it as events. Every event is
handled in order on the core thread, so the session needs no locks and the GUI thread never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kiosk.cache import CachedNotices, is_stale
from kiosk.events import CardRead, CardUnreadable
from kiosk.network import NetworkProcess
from kiosk.notices import personal_notices
from kiosk.session import (
    BroadcastChanged,
    Effect,
    FetchPersonal,
    HelpAnswered,
    PersonalFailed,
    PersonalLoaded,
    PrintSlip,
    QueueAssist,
    QueueReceipt,
    Session,
    SessionEvent,
    Speak,
    SpeakNotice,
    StopSpeaking,
    Tick,
    VerifyPin,
    View,
)
from kiosk.slip import Slip

log = logging.getLogger(__name__)

# The kiosk's switch interval: a thread running Python (the sync's parsing, a QR code) keeps the GIL this long
# each time the GUI thread asks for it back. 1 ms, not Python's 5, halved the longest GUI stall of a first sync
# of 10,000 notices on a 3x slower terminal (bench/ui.py --slow 3); bench/sync.py runs with it too.
GIL_TURN_S = 0.001

TICK_S = 0.5


@dataclass(frozen=True)
class CacheChanged:
    """The network worker has written the broadcast cache (reopen: it made the file again, set aside when corrupt)."""

    reopen: bool = False


class KioskCore:
    def __init__(
        self,
        session: Session,
        cache: CachedNotices,
        network: NetworkProcess | None,
        verify_pin: Callable[[str], None],
        on_view: Callable[[View], None],
        on_speech: Callable[[Effect], None] = lambda effect: None,
        print_slips: Callable[[str, tuple[Slip, ...]], None] = lambda job, slips: None,
    ) -> None:
        self.session = session
        self.cache, self.network = cache, network
        self.verify_pin = verify_pin
        self.print_slips = print_slips
        self.on_view, self.on_speech = on_view, on_speech
        self._events: queue.Queue[SessionEvent | CacheChanged | None] = queue.Queue()
        self._watched: str | None = None
        self._thread = threading.Thread(target=self._run, name="kiosk-core", daemon=True)
        self._ticker = threading.Thread(target=self._tick, name="kiosk-clock", daemon=True)
        self._stopping = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._ticker.start()

    def stop(self) -> None:
        self._stopping.set()
        self._events.put(None)
        self._thread.join(5)
        self._ticker.join(5)

    def post(self, event: SessionEvent | CacheChanged) -> None:
        """From any thread: something happened."""
        if self.network is not None and isinstance(event, CardRead | CardUnreadable):  # the hall's card error rate
            self.network.count("card_reads")
            if isinstance(event, CardUnreadable):
                self.network.count("card_errors")
        self._events.put(event)

    def network_event(self, event: dict) -> None:
        """What the network worker says (its `network` thread), as the session's events."""
        kind = event["event"]
        if kind == "ready":
            self.post(CacheChanged(reopen=bool(event.get("rebuilt"))))
        elif kind == "synced" and event["ok"]:
            self.post(CacheChanged())
        elif kind == "personal":
            visit = event["visit"]
            if "answer" not in event:
                self.post(PersonalFailed(visit, event.get("error", "")))
                return
            mine = personal_notices(event["answer"])
            self.post(PersonalLoaded(visit, mine.subject, tuple(mine.notices), mine.muted, mine.snoozed))
        elif kind == "help":
            self.post(HelpAnswered(event["help_id"], event["state"]))

    def _cached_broadcast(self, reopen: bool) -> BroadcastChanged:
        if reopen:
            self.cache.reopen()
        last = self.cache.last_sync  # one query, not a second one for staleness
        return BroadcastChanged(self.cache, last, is_stale(last))

    # -- the core thread ---------------------------------------------------------------------
    def _tick(self) -> None:
        while not self._stopping.wait(TICK_S):
            self.post(Tick(time.monotonic()))

    def _run(self) -> None:
        # The cached notices come first, asked on this thread, not the GUI's.
        event: SessionEvent | CacheChanged | None = self._cached_broadcast(reopen=False)
        self.post(Tick(time.monotonic()))
        last_view = None
        while event is not None:
            if isinstance(event, CacheChanged):
                event = self._cached_broadcast(event.reopen)
            effects: list[Effect] = []
            try:
                effects = self.session.handle(event)
            except Exception:  # a bug in one event must not take the kiosk down
                log.exception("handling %s failed", type(event).__name__)
            if self.session.view is not last_view:  # the screen first, then its voice (kiosk.priority.ScreenFirst)
                last_view = self.session.view
                self.on_view(last_view)
                self._follow_help(last_view.help_id)
            try:
                for effect in effects:
                    self._carry_out(effect)
            except Exception:
                log.exception("carrying out what %s asked for failed", type(event).__name__)
            event = self._events.get()

    def _follow_help(self, help_id: str | None) -> None:
        """The worker asks the hall about the visit's help request while there is one (and the visit lasts)."""
        if help_id != self._watched and self.network is not None:
            self._watched = help_id
            self.network.watch_help(help_id)

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, VerifyPin):
            self.verify_pin(effect.pin)
        elif isinstance(effect, FetchPersonal):
            if self.network is None:
                self.post(PersonalFailed(effect.visit, "no backend configured"))
                return
            self.network.personal(effect.ssn, effect.card_no, effect.visit)
        elif isinstance(effect, QueueReceipt) and self.network is not None:
            self.network.receipt(effect.notice_id, effect.subject, effect.action, effect.value)
        elif isinstance(effect, QueueAssist) and self.network is not None:
            self.network.assist(effect.screen, effect.help_id)
        elif isinstance(effect, Speak | SpeakNotice | StopSpeaking):
            self.on_speech(effect)
        elif isinstance(effect, PrintSlip):
            self.print_slips(effect.job, effect.slips)


def china_now() -> datetime:
    """Local wall-clock time with its offset: notice validity and ages are judged in the hall's time."""
    return datetime.now().astimezone()
