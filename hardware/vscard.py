"""A chip of hardware/emulator.py in a QEMU guest's USB CCID reader, over libcacard's VSCard protocol.

QEMU plays the reader (`-device usb-ccid`) and forwards its slot to a socket (`-device
ccid-card-passthru,chardev=X`, with X `-chardev socket,...,server=on,wait=off`); this bridge
connects to that socket as the client and plays the card, so the guest's pcscd and libccid
read it as they would a reader on a hall kiosk. It is a test instrument, like vpcd.

VSCard protocol: each message a 12-byte header (type, reader id, payload length: big-endian
uint32) and a payload. The client says Init and ReaderAdd once per connection, then ATR for
an insert and CardRemove for a removal; QEMU acknowledges each with an Error message (code 0
for success) and sends the guest's APDUs, each answered by one APDU (or an Error). QEMU answers
the guest's power on and reset itself, with the last ATR: the chip is never reset by the guest.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from hardware.emulator import Chip, HoldsCard, HoldsPsam, Person, receive_exactly

log = logging.getLogger(__name__)

QEMU_CCID_PORT = 35970  # our choice: QEMU's `-chardev socket,host=127.0.0.1,port=...` for the card's reader
QEMU_CCID_PSAM_PORT = 35971  # the same for a second usb-ccid reader holding the PSAM
VSC_INIT, VSC_ERROR, VSC_READER_ADD, VSC_READER_REMOVE, VSC_ATR, VSC_CARD_REMOVE, VSC_APDU = 1, 2, 3, 4, 5, 6, 7
VSC_FLUSH, VSC_FLUSH_COMPLETE = 8, 9
VSC_SUCCESS, VSC_GENERAL_ERROR = 0, 1
VSCARD_VERSION = 2  # protocol 0.0.2, as libcacard and QEMU define it
VSCARD_MAGIC = b"VSCD"  # compared as raw bytes by QEMU, not byte-swapped
UNDEFINED_READER = 0xFFFFFFFF
HEADER = struct.Struct(">III")
# The guest's libccid learns of a slot change from an interrupt it polls; a card put back before the
# guest read the removal would look as if it never left (present → present), so a re-insert waits.
# Under TCG a 0.1 s swap was missed and a 0.3 s one seen.
GUEST_POLL_S = 1.0
# QEMU's CardRemove also throws away answers the guest has not read yet, and a guest whose answer is
# lost waits minutes for libccid's timeout: a removal waits this long after our last answer.
QUIET_S = 0.3


class VscardError(OSError):
    """QEMU refused a VSCard request (an ATR it found inconsistent, a reader it cannot add) or went away."""


class QemuCcidSlot:
    """Connects a chip to a QEMU guest's usb-ccid reader. `insert()` and `remove()` work at any time.

    The connection is made by the first `insert()` (or `connect()`) and kept between cards:
    QEMU's reader stays on the guest's USB bus whether we are connected or not, and a VSCard
    ReaderRemove would unplug it from the guest for good, so we never send one. Call `close()`
    when done: a bridge that hangs up with a card in leaves the guest seeing that card.
    """

    def __init__(self, port: int = QEMU_CCID_PORT, host: str = "127.0.0.1", name: str = "sskiosk emulator") -> None:
        self.port = port
        self.host = host
        self.name = name
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._send_lock = threading.Lock()  # the reader thread's answers and our requests share the socket
        self._slot_lock = threading.RLock()  # one request at a time, so each acknowledgement is its own
        self._acks: queue.Queue[int | None] = queue.Queue()  # QEMU's Error codes, None when it hung up
        self._chip: Chip | None = None
        self._leaving: Chip | None = None  # a chip that left mid-exchange, its CardRemove on the way
        self._reader_id = UNDEFINED_READER
        self._removed_at = 0.0
        self._answered_at = 0.0

    @property
    def inserted(self) -> bool:
        return self._chip is not None and self.connected

    @property
    def connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def new_chip(self) -> Chip:
        raise NotImplementedError

    def connect(self, timeout: float = 5.0) -> None:
        """Open the VSCard connection and add our reader, with an empty slot; QEMU must already be listening."""
        with self._slot_lock:
            if self.connected:
                return
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock, self._acks, self._reader_id = sock, queue.Queue(), UNDEFINED_READER
            self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True, name=f"vscard-{self.port}")
            self._thread.start()
            # QEMU says Init when it starts, to nobody yet: ours makes it answer with its own.
            self._send(VSC_INIT, UNDEFINED_READER, VSCARD_MAGIC + struct.pack(">II", VSCARD_VERSION, 0))
            self._request(VSC_READER_ADD, self.name.encode(), "ReaderAdd", timeout)
            self._reader_id = 0  # QEMU has one slot: its ReaderAdd answer names reader 0
            # A bridge that died without CardRemove left QEMU showing the guest a card; empty the slot first.
            self._request(VSC_CARD_REMOVE, b"", "CardRemove", timeout)
            self._removed_at = time.monotonic()

    def insert(self, timeout: float = 5.0) -> None:
        """Put a fresh chip in the reader: send its ATR; the guest sees a card arrive."""
        with self._slot_lock:
            self._pull_out(self._chip, timeout)
            self.connect(timeout)
            time.sleep(max(0.0, self._removed_at + GUEST_POLL_S - time.monotonic()))
            self._chip = self.new_chip()
            try:
                self._request(VSC_ATR, self._chip.atr, "ATR", timeout)
            except VscardError:
                self._chip = None
                raise

    def remove(self, timeout: float = 5.0) -> None:
        """Pull the chip out: send CardRemove; the guest sees an empty reader, the connection stays."""
        with self._slot_lock:
            self._pull_out(self._chip, timeout)

    def close(self) -> None:
        """Remove the card and hang up."""
        with self._slot_lock:
            with contextlib.suppress(OSError):
                self.remove()
            sock, self._sock = self._sock, None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None

    def _pull_out(self, chip: Chip | None, timeout: float) -> None:
        # Called with _slot_lock held; `chip` is the one to pull out, if it is still the one in the reader.
        if chip is None or self._chip is not chip:
            return
        self._chip = None  # from now on the guest's APDUs fail at once
        deadline = time.monotonic() + timeout  # a guest that retries forever does not keep the card in
        while (wait := min(self._answered_at + QUIET_S, deadline) - time.monotonic()) > 0:
            time.sleep(wait)
        if self.connected:
            self._request(VSC_CARD_REMOVE, b"", "CardRemove", timeout)
        self._removed_at = time.monotonic()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                message = _receive(sock)
                if message is None:
                    break
                kind, reader_id, payload = message
                if kind == VSC_APDU:
                    self._answer(reader_id, payload)
                elif kind == VSC_ERROR:
                    self._acks.put(struct.unpack(">I", payload[:4])[0] if len(payload) >= 4 else VSC_GENERAL_ERROR)
                elif kind == VSC_INIT:
                    log.debug("vscard %s: QEMU says Init %s", self.port, payload.hex())
                elif kind == VSC_FLUSH:
                    # Every APDU is answered before the next message is read: nothing is outstanding.
                    self._send(VSC_FLUSH_COMPLETE, reader_id, b"")
                else:
                    log.warning("vscard %s: unexpected message type %d", self.port, kind)
                    self._send(VSC_ERROR, reader_id, struct.pack(">I", VSC_GENERAL_ERROR))
        except OSError:
            pass
        finally:
            self._chip = None
            self._acks.put(None)
            sock.close()

    def _answer(self, reader_id: int, apdu: bytes) -> None:
        chip = self._chip
        answer = chip.answer(apdu) if chip is not None else None
        if answer is not None:
            self._send(VSC_APDU, reader_id, answer)
        else:  # no card, or it left before answering: the guest's command fails (QEMU answers it "failed")
            self._send(VSC_ERROR, reader_id, struct.pack(">I", VSC_GENERAL_ERROR))
        self._answered_at = time.monotonic()
        if answer is None and chip is not None and self._leaving is not chip:
            # The chip left: empty the slot from another thread, as this one must go on answering.
            self._leaving = chip
            threading.Thread(target=self._drop, args=(chip,), daemon=True, name=f"vscard-{self.port}-drop").start()

    def _drop(self, chip: Chip) -> None:
        with self._slot_lock, contextlib.suppress(OSError):
            self._pull_out(chip, 5.0)

    def _request(self, kind: int, payload: bytes, what: str, timeout: float) -> None:
        # Called with _slot_lock held: QEMU acknowledges ReaderAdd, ATR and CardRemove with an Error message.
        self._send(kind, self._reader_id, payload)
        try:
            code = self._acks.get(timeout=timeout)
        except queue.Empty:
            raise VscardError(f"vscard {self.host}:{self.port}: no answer to {what}") from None
        if code is None:
            raise VscardError(f"vscard {self.host}:{self.port}: QEMU hung up before answering {what}")
        if code != VSC_SUCCESS:
            raise VscardError(f"vscard {self.host}:{self.port}: QEMU refused {what} (code {code})")

    def _send(self, kind: int, reader_id: int, payload: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise VscardError(f"vscard {self.host}:{self.port}: not connected")
        with self._send_lock:
            sock.sendall(HEADER.pack(kind, reader_id, len(payload)) + payload)


class QemuCardSlot(HoldsCard, QemuCcidSlot):
    """The citizen's card in a guest's CCID reader."""

    def __init__(self, person: Person, port: int = QEMU_CCID_PORT, host: str = "127.0.0.1") -> None:
        super().__init__(port, host, name="sskiosk card")
        self.person = person


class QemuPsamSlot(HoldsPsam, QemuCcidSlot):
    """The terminal's PSAM in a second usb-ccid reader."""

    def __init__(
        self, faults: list[str] | None = None, port: int = QEMU_CCID_PSAM_PORT, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(port, host, name="sskiosk psam")
        self.hold_faults(faults)


def card_slot(person_file: str | Path, port: int = QEMU_CCID_PORT, host: str = "127.0.0.1") -> QemuCardSlot:
    """The card of the person in `person_file` (assets/persons/*.json), ready to `insert()`."""
    return QemuCardSlot(Person.load(person_file), port, host)


def _receive(sock: socket.socket) -> tuple[int, int, bytes] | None:
    header = receive_exactly(sock, HEADER.size)
    if header is None:
        return None
    kind, reader_id, length = HEADER.unpack(header)
    payload = receive_exactly(sock, length)
    return None if payload is None else (kind, reader_id, payload)


def main() -> None:
    """`python -m hardware.vscard PERSON.json [PORT]`: insert the card, then `r` removes, `i` inserts, `q` quits."""
    logging.basicConfig(level=logging.INFO)
    slot = card_slot(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else QEMU_CCID_PORT)
    slot.insert()
    print(f"inserted {slot.person.label} into {slot.host}:{slot.port}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "r":
            slot.remove()
            print("removed", flush=True)
        elif command == "i":
            slot.insert()
            print("inserted", flush=True)
        elif command == "q":
            break
    slot.close()


if __name__ == "__main__":
    main()
