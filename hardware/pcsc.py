"""The card reader thread: the one thread that talks PC/SC (pyscard's scard layer over pcscd).

It watches the PC/SC service, the readers and the card with its own supervised
SCardGetStatusChange loop (pyscard's CardMonitor dies silently with pcscd, pyscard #82),
reads the card as soon as it is in, checks the card PIN on request, and reports everything
as named events (kiosk.events) through one callback. It also owns the terminal's PSAM slot
(a second reader, for third-generation cards): opened once, kept, reopened when it comes back.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from smartcard import scard as pc

from hardware import psam, ss_card
from kiosk.card import CardFault, CardReadError
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    PsamChanged,
    ReaderEvent,
    ReadersChanged,
    ReaderServiceLost,
)

log = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"  # a pseudo-reader whose state changes when readers come and go
# F_COMM_ERROR: the socket to pcscd broke under a call, which is the service going away too.
SERVICE_GONE = {pc.SCARD_E_NO_SERVICE, pc.SCARD_E_SERVICE_STOPPED, pc.SCARD_E_INVALID_HANDLE, pc.SCARD_F_COMM_ERROR}
READER_GONE = {pc.SCARD_E_UNKNOWN_READER, pc.SCARD_E_READER_UNAVAILABLE}
WAIT_MS = 500  # the longest a queued command waits if SCardCancel raced with the wait starting
RENEW_CONTEXT_AFTER_S = 30.0  # with no reader for this long, take a fresh context (eid-mw #27)
REFUSED_PSAM = {"wrong_application", "locked", "unreadable"}  # opened, and it answered no: not asked again
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)


class _ServiceGone(Exception):
    pass


@dataclass
class ConnectedCard:
    """A card handle and the transmit the card application talks through."""

    handle: int
    pci: object
    gone: type[Exception] = ss_card.CardGone  # what a chip that left raises: psam.PsamGone for the PSAM

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        hresult, response = pc.SCardTransmit(self.handle, self.pci, list(apdu))
        if hresult in SERVICE_GONE:
            raise _ServiceGone(hresult_text(hresult))  # pcscd went away, not the card: not "pulled out"
        if hresult != pc.SCARD_S_SUCCESS:
            raise self.gone(hresult_text(hresult))
        if len(response) < 2:  # no status word: nobody is talking (vpcd says this when the card left)
            raise self.gone("answer without a status word")
        return bytes(response[:-2]), response[-2] << 8 | response[-1]

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """No other PC/SC program's commands between ours (an engineer's read-card, doctor) for a sequence."""
        hresult = pc.SCardBeginTransaction(self.handle)
        if hresult in SERVICE_GONE:
            raise _ServiceGone(hresult_text(hresult))
        if hresult != pc.SCARD_S_SUCCESS:
            raise self.gone(hresult_text(hresult))
        try:
            yield
        finally:
            pc.SCardEndTransaction(self.handle, pc.SCARD_LEAVE_CARD)

    def disconnect(self) -> None:
        # Reset, so that a PIN verified in this session does not outlive it on the card.
        pc.SCardDisconnect(self.handle, pc.SCARD_RESET_CARD)


def connect_card(context: int, reader: str) -> ConnectedCard | int:
    """The card in `reader`, or the PC/SC error code."""
    hresult, handle, protocol = pc.SCardConnect(
        context, reader, pc.SCARD_SHARE_SHARED, pc.SCARD_PROTOCOL_T0 | pc.SCARD_PROTOCOL_T1
    )
    if hresult != pc.SCARD_S_SUCCESS:
        return hresult
    return ConnectedCard(handle, pc.SCARD_PCI_T1 if protocol == pc.SCARD_PROTOCOL_T1 else pc.SCARD_PCI_T0)


def hresult_text(hresult: int) -> str:
    return f"{pc.SCardGetErrorMessage(hresult)} (0x{hresult & 0xFFFFFFFF:08X})"


class CardReaderThread(threading.Thread):
    """Serves the first reader whose name contains `name_filter` (case-insensitive; empty: any but the PSAM's),
    and the PSAM in the first reader whose name contains `psam_filter` (empty: no PSAM)."""

    def __init__(self, on_event: Callable[[ReaderEvent], None], name_filter: str = "", psam_filter: str = "") -> None:
        super().__init__(name="card-reader", daemon=True)
        self._on_event = on_event
        self._filter = name_filter.casefold()
        self._psam_filter = psam_filter.casefold()
        self._psam_reader: str | None = None
        self._psam_reader_state = pc.SCARD_STATE_UNAWARE
        self._psam: ConnectedCard | None = None
        self._psam_state = PsamChanged.unseen(psam_filter)
        self._psam_reported: PsamChanged | None = None
        # Cards whose RKSSSE key refused this PSAM (63Cx): each try costs the citizen's card one of its few,
        # so a re-inserted one is not tried again but given the same answer. Keyed digests with a key of this
        # run: no card_id is kept.
        self._refused_cards: dict[bytes, CardFault] = {}
        self._refused_by = ""  # the terminal number of the PSAM those cards refused
        self._digest_key = os.urandom(32)
        self._commands: queue.Queue[str] = queue.Queue()
        self._stopping = threading.Event()
        self._context: int | None = None
        self._service_lost_reported = False
        self._readers: tuple[str, ...] | None = None
        self._selected: str | None = None
        self._reader_state = pc.SCARD_STATE_UNAWARE
        self._pnp_state = pc.SCARD_STATE_UNAWARE
        self._card: ConnectedCard | None = None
        self._present = False
        self._last_reader_seen = time.monotonic()
        # Timestamp (time.monotonic) of the last time PC/SC reported the card present; for bench/.
        self.card_seen_at = 0.0

    # -- called from other threads -----------------------------------------------------------
    def verify_pin(self, pin: str) -> None:
        """Ask the card to check its PIN; the answer comes as PinChecked."""
        if not ss_card.PIN_PATTERN.fullmatch(pin):
            raise ValueError("the card PIN has 6 digits")
        self._commands.put(pin)
        self._wake()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake()
        self.join(timeout)

    def _wake(self) -> None:
        context = self._context
        if context is not None:
            pc.SCardCancel(context)

    # -- the thread --------------------------------------------------------------------------
    def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if self._context is None and not self._establish():
                    self._stopping.wait(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
                    failures += 1
                    continue
                failures = 0
                self._serve_commands()
                self._wait_for_change()
            except _ServiceGone as e:
                self._lose_service(str(e))
            except Exception:  # the loop must outlive any surprise, or the kiosk goes deaf
                log.exception("card reader loop failed; starting over with a fresh context")
                self._lose_service("internal error")
                self._stopping.wait(1.0)
        self._release()

    def _establish(self) -> bool:
        hresult, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
        if hresult != pc.SCARD_S_SUCCESS:
            if not self._service_lost_reported:
                self._service_lost_reported = True
                self._emit(ReaderServiceLost(hresult_text(hresult)))
            return False
        self._context = context
        self._service_lost_reported = False
        self._pnp_state = pc.SCARD_STATE_UNAWARE
        self._last_reader_seen = time.monotonic()
        self._refresh_readers()
        return True

    def _lose_service(self, reason: str) -> None:
        log.warning("PC/SC service lost: %s", reason)
        self._release()
        self._readers = None
        self._selected = None
        if not self._service_lost_reported:
            self._service_lost_reported = True
            self._emit(ReaderServiceLost(reason))

    def _release(self) -> None:
        if self._present:
            self._card_out()
        self._close_psam()
        if self._context is not None:
            pc.SCardReleaseContext(self._context)
            self._context = None

    def _serve_commands(self) -> None:
        while True:
            try:
                pin = self._commands.get_nowait()
            except queue.Empty:
                return
            self._check_pin(pin)

    def _wait_for_change(self) -> None:
        assert self._context is not None
        states = [(PNP_NOTIFICATION, self._pnp_state)]
        if self._selected is not None:
            states.insert(0, (self._selected, self._reader_state))
        if self._psam_reader is not None:  # first: a card and its PSAM seen in one wait need the PSAM open
            states.insert(0, (self._psam_reader, self._psam_reader_state))
        hresult, new_states = pc.SCardGetStatusChange(self._context, WAIT_MS, states)
        if hresult in (pc.SCARD_E_TIMEOUT, pc.SCARD_E_CANCELLED):
            self._on_quiet()
            return
        if hresult in SERVICE_GONE:
            raise _ServiceGone(hresult_text(hresult))
        if hresult in READER_GONE:
            self._refresh_readers()
            return
        if hresult != pc.SCARD_S_SUCCESS:
            log.warning("SCardGetStatusChange: %s", hresult_text(hresult))
            self._stopping.wait(0.5)
            return
        for name, state, atr in new_states:
            if name == PNP_NOTIFICATION:
                self._pnp_state = state & ~pc.SCARD_STATE_CHANGED
                self._refresh_readers()
            elif name == self._selected:
                self._reconcile(state & ~pc.SCARD_STATE_CHANGED, atr)
            elif name == self._psam_reader:
                self._reconcile_psam(state & ~pc.SCARD_STATE_CHANGED)

    def _on_quiet(self) -> None:
        if self._readers:
            self._last_reader_seen = time.monotonic()
        elif time.monotonic() - self._last_reader_seen > RENEW_CONTEXT_AFTER_S:
            # A reader that stays "unplugged" for good can be a stale context: start afresh.
            log.info("no reader for %.0f s: renewing the PC/SC context", RENEW_CONTEXT_AFTER_S)
            self._release()

    def _refresh_readers(self) -> None:
        assert self._context is not None
        hresult, readers = pc.SCardListReaders(self._context, [])
        if hresult in SERVICE_GONE:
            raise _ServiceGone(hresult_text(hresult))
        if hresult != pc.SCARD_S_SUCCESS:  # SCARD_E_NO_READERS_AVAILABLE, or a transient failure
            readers = []
        readers = tuple(readers)
        psam_reader = next((r for r in readers if self._psam_filter and self._psam_filter in r.casefold()), None)
        selected = next((r for r in readers if self._filter in r.casefold() and r != psam_reader), None)
        if selected != self._selected:
            if self._present:
                self._card_out()
            self._selected = selected
            self._reader_state = pc.SCARD_STATE_UNAWARE
        if psam_reader != self._psam_reader:
            self._psam_reader = psam_reader
            self._psam_reader_state = pc.SCARD_STATE_UNAWARE
            self._close_psam()
        if readers != self._readers:
            self._readers = readers
            self._emit(ReadersChanged(readers, selected))
        if psam_reader is None:  # else the slot is looked at in the next wait, and reported then
            self._report_psam()

    def _reconcile(self, state: int, atr: list[int]) -> None:
        """Bring our idea of the card in line with the reader's current state, not only its events."""
        present = bool(state & pc.SCARD_STATE_PRESENT)
        reinserted = (
            present and self._present and (state >> 16) != (self._reader_state >> 16)
        )  # the event counter moved: out and in again between two looks (pyscard #220)
        if state & (pc.SCARD_STATE_UNKNOWN | pc.SCARD_STATE_UNAVAILABLE):
            present = False
        if reinserted or (self._present and not present):
            self._card_out()
        self._reader_state = state
        if present and not self._present:
            self.card_seen_at = time.monotonic()
            self._card_in(bytes(atr).hex().upper())

    def _card_in(self, atr: str) -> None:
        assert self._context is not None and self._selected is not None
        reader = self._selected
        self._present = True
        self._emit(CardInserted(reader, atr))
        connected = connect_card(self._context, reader)
        if isinstance(connected, int):
            if connected in SERVICE_GONE:
                raise _ServiceGone(hresult_text(connected))
            removed = connected in (pc.SCARD_W_REMOVED_CARD, pc.SCARD_E_NO_SMARTCARD)
            fault = CardFault.REMOVED_DURING_READ if removed else CardFault.UNREADABLE
            self._emit(CardUnreadable(reader, atr, fault, f"connect: {hresult_text(connected)}"))
            return
        self._card = connected

        def authenticate(chip: ss_card.Transmit, card_id: bytes) -> None:
            self._authenticate(chip, card_id, atr)

        try:
            with connected.exclusive():
                card = ss_card.read_card(connected.transmit, authenticate)
        except ss_card.CardGone:
            self._emit(CardUnreadable(reader, atr, CardFault.REMOVED_DURING_READ, "transaction"))
            return
        except CardReadError as e:
            log.info("card in %s unreadable: %s", reader, e)
            self._emit(CardUnreadable(reader, atr, e.fault, e.detail))
            return
        log.info("card read in %s: %r", reader, card)
        self._emit(CardRead(reader, atr, card))

    def _card_out(self) -> None:
        if self._card is not None:
            self._card.disconnect()
            self._card = None
        self._present = False
        self._emit(CardRemoved(self._selected or ""))

    # -- the PSAM slot ------------------------------------------------------------------------
    def _reconcile_psam(self, state: int) -> None:
        present = bool(state & pc.SCARD_STATE_PRESENT) and not state & (
            pc.SCARD_STATE_UNKNOWN | pc.SCARD_STATE_UNAVAILABLE
        )
        new_insertion = (state >> 16) != (self._psam_reader_state >> 16)  # pcscd counts insertions in the high bits
        reinserted = present and self._psam is not None and new_insertion
        refused_before = self._psam is None and self._psam_state.status in REFUSED_PSAM and not new_insertion
        self._psam_reader_state = state
        if reinserted or not present:
            self._close_psam()
        if present and self._psam is None and not refused_before:  # a refused PSAM answers the same until swapped
            self._open_psam()
        self._report_psam()

    def _open_psam(self) -> None:
        assert self._context is not None and self._psam_reader is not None
        reader = self._psam_reader
        connected = connect_card(self._context, reader)
        if isinstance(connected, int):
            if connected in SERVICE_GONE:
                raise _ServiceGone(hresult_text(connected))
            self._psam_state = PsamChanged("absent", reader, detail=f"connect: {hresult_text(connected)}")
            return
        connected.gone = psam.PsamGone
        try:
            with connected.exclusive():
                number = psam.open_psam(connected.transmit)
        except psam.PsamRefused as e:
            log.warning("PSAM in %s cannot be used: %s", reader, e)
            connected.disconnect()
            self._psam_state = PsamChanged(e.status, reader, detail=e.detail)
            return
        except psam.PsamGone:
            connected.disconnect()
            self._psam_state = PsamChanged("absent", reader, detail="left while being opened")
            return
        self._psam = connected
        if number != self._refused_by:  # another PSAM: its keys may be the right ones (the same one reseated: not)
            self._refused_cards.clear()
            self._refused_by = number
        self._psam_state = PsamChanged("ready", reader, terminal_number=number)

    def _close_psam(self) -> None:
        if self._psam is not None:
            self._psam.disconnect()
            self._psam = None
        if self._psam_reader is not None:
            self._psam_state = PsamChanged("absent", self._psam_reader, detail="no PSAM in the slot")
        elif self._psam_filter:
            self._psam_state = PsamChanged("absent", detail=f"no reader name contains {self._psam_filter!r}")

    def _report_psam(self) -> None:
        if self._psam_state != self._psam_reported:
            self._psam_reported = self._psam_state
            self._emit(self._psam_state)

    def _authenticate(self, card: ss_card.Transmit, card_id: bytes, atr: str) -> None:
        """Third generation: the card and this terminal prove themselves to each other through the PSAM."""
        if self._psam is None:
            status = self._psam_state.status
            raise CardReadError(psam.FAULT_OF_STATUS[status], self._psam_state.detail or f"PSAM {status}")
        digest = hashlib.blake2b(card_id, key=self._digest_key, digest_size=16).digest()
        if digest in self._refused_cards:
            raise CardReadError(self._refused_cards[digest], "not tried again: this card refused this PSAM's key")
        try:
            with self._psam.exclusive():
                psam.authenticate(card, self._psam.transmit, card_id, bytes.fromhex(atr))
        except psam.PsamGone:
            self._lost_psam()
            raise CardReadError(CardFault.PSAM_REMOVED, "the PSAM left during the authentication") from None
        except CardReadError as e:
            if e.fault in (CardFault.PSAM_KEY_MISMATCH, CardFault.PSAM_SPENT_LAST_TRY):
                self._refused_cards[digest] = e.fault
            if e.fault is CardFault.PSAM_REMOVED:
                self._lost_psam()
            if e.fault is CardFault.PSAM_LOCKED:  # it opened, but its keys are blocked: staff see it, not "ready"
                self._psam_state = replace(self._psam_state, status="locked", detail=e.detail)
                self._report_psam()
            raise

    def _lost_psam(self) -> None:
        # The handle is dead: look at the slot afresh on the next wait (reopened at once if it is back).
        self._close_psam()
        self._psam_reader_state = pc.SCARD_STATE_UNAWARE
        self._report_psam()

    def _check_pin(self, pin: str) -> None:
        if self._card is None:
            self._emit(PinChecked(ok=False, tries_left=None, blocked=False))
            return
        try:
            with self._card.exclusive():
                result = ss_card.check_pin(self._card.transmit, pin)
        except ss_card.CardGone:
            return  # the card left mid-check: the next look at the reader reports CardRemoved
        except CardReadError as e:  # an answer no card should give: no PIN result, never a crash
            log.warning("PIN check answered wrongly: %s", e)
            result = PinChecked(ok=False, tries_left=None, blocked=False)
        self._emit(result)

    def _emit(self, event: ReaderEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("event handler failed for %s", type(event).__name__)
