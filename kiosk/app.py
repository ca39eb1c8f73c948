"""The kiosk core at run time: the session on its own thread, its effects carried out with the real devices.

Qt-free: the UI gives it two callbacks (a new view; something to say) and posts touches to it;
the card reader thread and the sync worker post their events to it. Every event is handled in
order on the core thread, so the session needs no locks and the GUI thread never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from kiosk.cache import BroadcastCache
from kiosk.events import CardRead, CardUnreadable
from kiosk.outbox import Outbox
from kiosk.session import (
    BroadcastChanged,
    Effect,
    FetchPersonal,
    HelpAnswered,
    PersonalFailed,
    PersonalLoaded,
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
from kiosk.sync import Backend, BackendError, SyncReport

log = logging.getLogger(__name__)

# The kiosk's switch interval: a thread running Python (the sync's parsing, a QR code) keeps the GIL this long
# each time the GUI thread asks for it back. 1 ms, not Python's 5, halved the longest GUI stall of a first sync
# of 10,000 notices on a 3x slower terminal (bench/ui.py --slow 3); bench/sync.py runs with it too.
GIL_TURN_S = 0.001

TICK_S = 0.5
HELP_POLL_S = 2.0  # "the kiosk hears the acknowledgement within seconds" (issue 15); one small GET a poll
HELP_WAIT_S = 30 * 60.0  # a visit longer than this has ended one way or another


class KioskCore:
    def __init__(
        self,
        session: Session,
        cache: BroadcastCache,
        outbox: Outbox,
        backend: Backend | None,
        verify_pin: Callable[[str], None],
        kiosk_id: str,
        on_view: Callable[[View], None],
        on_speech: Callable[[Effect], None] = lambda effect: None,
        on_outbox_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.session = session
        self.cache, self.outbox, self.backend = cache, outbox, backend
        self.verify_pin = verify_pin
        self.kiosk_id = kiosk_id
        self.on_view, self.on_speech, self.on_outbox_change = on_view, on_speech, on_outbox_change
        self._events: queue.Queue[SessionEvent | None] = queue.Queue()
        # Several: a next citizen must not wait behind the abandoned request of a card that has left.
        self._network = ThreadPoolExecutor(max_workers=3, thread_name_prefix="personal")
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
        self._network.shutdown(wait=False, cancel_futures=True)

    def post(self, event: SessionEvent) -> None:
        """From any thread: something happened."""
        if self.backend is not None and isinstance(event, CardRead | CardUnreadable):  # the hall's card error rate
            self.backend.tally.add("card_reads")
            if isinstance(event, CardUnreadable):
                self.backend.tally.add("card_errors")
        self._events.put(event)

    def broadcast_changed(self, result: SyncReport | BackendError | None = None) -> None:
        """After a sync (the SyncWorker's callback): hand the session the cached broadcast notices."""
        if isinstance(result, BackendError):
            return
        self.post(self._cached_broadcast())

    def _cached_broadcast(self) -> BroadcastChanged:
        return BroadcastChanged(tuple(self.cache.notices()), self.cache.last_sync, self.cache.stale())

    # -- the core thread ---------------------------------------------------------------------
    def _tick(self) -> None:
        while not self._stopping.wait(TICK_S):
            self.post(Tick(time.monotonic()))

    def _run(self) -> None:
        # The cached notices come first, read on this thread: parsing 10,000 held the GUI thread up 0.6 s.
        event: SessionEvent | None = self._cached_broadcast()
        self.post(Tick(time.monotonic()))
        last_view = None
        while event is not None:
            effects: list[Effect] = []
            try:
                effects = self.session.handle(event)
            except Exception:  # a bug in one event must not take the kiosk down
                log.exception("handling %s failed", type(event).__name__)
            if self.session.view is not last_view:  # the screen first, then its voice (kiosk.priority.ScreenFirst)
                last_view = self.session.view
                self.on_view(last_view)
            try:
                for effect in effects:
                    self._carry_out(effect)
            except Exception:
                log.exception("carrying out what %s asked for failed", type(event).__name__)
            event = self._events.get()

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, VerifyPin):
            self.verify_pin(effect.pin)
        elif isinstance(effect, FetchPersonal):
            self._network.submit(self._fetch_personal, effect.ssn, effect.card_no, effect.visit)
        elif isinstance(effect, QueueReceipt):
            self.outbox.add_receipt(effect.notice_id, effect.subject, effect.action, effect.value)
            self.on_outbox_change()
        elif isinstance(effect, QueueAssist):
            self.outbox.add_assist(self.kiosk_id, effect.screen, effect.help_id)
            self.on_outbox_change()
            threading.Thread(target=self._await_staff, args=(effect.help_id,), name="help-watch", daemon=True).start()
        elif isinstance(effect, Speak | SpeakNotice | StopSpeaking):
            self.on_speech(effect)

    def _await_staff(self, help_id: str) -> None:
        """Ask the hall every few seconds whether staff have taken the request, while this visit waits for them."""
        deadline = time.monotonic() + HELP_WAIT_S
        while self.backend is not None and not self._stopping.wait(HELP_POLL_S) and time.monotonic() < deadline:
            if self.session.view.help_id != help_id:  # the visit ended (or a test's session moved on)
                return
            try:
                _, _, answer = self.backend.call("GET", f"/assist/{help_id}")
            except BackendError:  # not delivered yet (404), or the network is down: the outbox keeps trying
                continue
            state = answer.get("state") if isinstance(answer, dict) else None
            if state in ("acknowledged", "resolved"):
                self.post(HelpAnswered(help_id, state))
                return

    def _fetch_personal(self, ssn: str, card_no: str, visit: int) -> None:
        if self.backend is None:
            self.post(PersonalFailed(visit, "no backend configured"))
            return
        try:
            mine = self.backend.personal(ssn, card_no)
        except BackendError as e:
            log.warning("personal notices unavailable: %s", e)
            self.post(PersonalFailed(visit, str(e)))
            return
        self.post(PersonalLoaded(visit, mine.subject, tuple(mine.notices), mine.muted, mine.snoozed))


def china_now() -> datetime:
    """Local wall-clock time with its offset: notice validity and ages are judged in the hall's time."""
    return datetime.now().astimezone()
