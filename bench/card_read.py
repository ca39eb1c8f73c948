"""Card read timings through the real pcscd and vpcd, ours beside a minimal raw pyscard script in the same run.

(a) PC/SC reports the card present → CardData ready   (budget: ≤ 30 ms median)
(b) the full read alone: connect, every APDU, parse    (budget: ≤ 1.5 × raw; the mean of 10 reads in a row)
(c) insert → CardData ready                            (budget: ≤ raw + 30 ms)
Third generation (spec 3.00, mutual authentication through the PSAM in vpcd's second reader):
(d) PC/SC reports the card present → CardData ready   (no budget of its own: the figure under (e))
(e) PC/SC reports the card present → greeting painted  (budget: ≤ 100 ms median, DESIGN §8)
The raw reference for (d) and (e) sends the same APDUs to the card and the PSAM with SCardTransmit.

The emulated card (`ss-kiosk emulate-card`) and PSAM (PSAM_SCRIPT) run in processes of their own, driven over
stdin, so their threads do not share our GIL. (e) paints the kiosk's window as bench/ui.py does (offscreen unless
DISPLAY is set). Usage: python bench/card_read.py [--inserts 50] [--reader NAME] [--psam-reader NAME]
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smartcard import scard as pc  # noqa: E402

from bench import Row, ms, report  # noqa: E402
from bench.slow import add_option, confine, off_the_terminal  # noqa: E402
from hardware import psam, ss_card  # noqa: E402
from hardware.emulator import PCSCD_POLL_S  # noqa: E402
from hardware.pcsc import CardReaderThread, connect_card  # noqa: E402
from hardware.pcscd import ensure_pcscd  # noqa: E402
from kiosk.events import CardRead, CardRemoved, CardUnreadable, PsamChanged  # noqa: E402

PERSON = ROOT / "assets" / "persons" / "gulnazar.json"  # the longest read: 4E present
PERSON_GEN3 = ROOT / "assets" / "persons" / "zhang-guifang-3rd-gen.json"  # spec 3.00: EF05 05/06, EF06 need it
PSAM_READER = "Virtual PCD 00 01"

# The emulated PSAM (hardware.emulator.PsamEmulator, port 35964) in a child process, driven as the card is.
PSAM_SCRIPT = """
import sys, time
from hardware.emulator import PsamEmulator
slot = PsamEmulator()
for line in sys.stdin:
    if line.strip() == "insert":
        slot.insert(); print("inserted", time.monotonic(), flush=True)
    elif line.strip() == "remove":
        slot.remove(); print("removed", time.monotonic(), flush=True)
slot.remove()
"""


class EmulatedCard:
    """`ss-kiosk emulate-card` in a child process; insert() returns when (monotonic) it went in.

    It stands for the card's own chip, not for the terminal: off the slow terminal's quota (bench/slow.py)."""

    def __init__(self, person: Path = PERSON) -> None:
        self.process = subprocess.Popen(
            off_the_terminal([sys.executable, "-m", "kiosk", "emulate-card", "--person", str(person), "--removed"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip

    def _command(self, word: str) -> float:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(word + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().split()
        assert answer and answer[0] == ("inserted" if word == "insert" else "removed"), answer
        return float(answer[1])

    def insert(self) -> float:
        return self._command("insert")

    def remove(self) -> float:
        return self._command("remove")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


class EmulatedPsam(EmulatedCard):
    """The emulated PSAM in a child process, in vpcd's second reader: a chip of its own, off the terminal as the
    card is."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(off_the_terminal([sys.executable, "-c", PSAM_SCRIPT]), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)  # fmt: skip


# -- the raw reference: what a minimal pyscard script would do -----------------------------------
RAW_APDUS = [ss_card.select_ssse(), ss_card.select_ef(ss_card.EF05)]
RAW_APDUS += [ss_card.read_record_by_tag(f.tag, f.length + 2) for f in ss_card.FIELDS if f.ef == ss_card.EF05]
RAW_APDUS += [ss_card.select_ef(ss_card.EF06)]
RAW_APDUS += [ss_card.read_record_by_tag(f.tag, f.length + 2) for f in ss_card.FIELDS if f.ef == ss_card.EF06]
EF05_TAGS = {f.tag for f in ss_card.FIELDS if f.ef == ss_card.EF05}


def raw_read(context: int, reader: str) -> dict[int, bytes]:
    hresult, handle, _ = pc.SCardConnect(context, reader, pc.SCARD_SHARE_SHARED, pc.SCARD_PROTOCOL_T0)
    assert hresult == 0, pc.SCardGetErrorMessage(hresult)
    records = {}
    for apdu in RAW_APDUS:
        hresult, response = pc.SCardTransmit(handle, pc.SCARD_PCI_T0, list(apdu))
        assert hresult == 0
        if apdu[1] == 0xB2 and response[-2:] == [0x90, 0x00]:
            records[response[0]] = bytes(response[2:-2])
    pc.SCardDisconnect(handle, pc.SCARD_RESET_CARD)
    return records


# -- the raw reference for a third-generation card: the same APDUs, the PSAM's handle kept open --------
def raw_transmit(handle: int, apdu: bytes) -> tuple[bytes, int]:
    hresult, response = pc.SCardTransmit(handle, pc.SCARD_PCI_T0, list(apdu))
    assert hresult == 0 and len(response) >= 2, pc.SCardGetErrorMessage(hresult)
    return bytes(response[:-2]), response[-2] << 8 | response[-1]


def raw_open_psam(context: int, reader: str) -> int:
    hresult, handle, _ = pc.SCardConnect(context, reader, pc.SCARD_SHARE_SHARED, pc.SCARD_PROTOCOL_T0)
    assert hresult == 0, pc.SCardGetErrorMessage(hresult)
    assert raw_transmit(handle, psam.read_terminal_number())[1] == 0x9000
    assert raw_transmit(handle, psam.select_psam())[1] == 0x9000
    return handle


def raw_psam_data(psam_handle: int, key_id: int, factors: bytes, factor: bytes, raw: bytes) -> bytes:
    """DELIVERY SESSION KEY then CIPHER DATA, the 16-byte answer folded to 8 (as hardware.psam computes it)."""
    assert raw_transmit(psam_handle, psam.delivery_session_key(key_id, factors, factor))[1] == 0x9000
    block, sw = raw_transmit(psam_handle, psam.cipher_data(raw))
    assert sw == 0x9000
    return psam.fold(block)


def raw_read_gen3(context: int, reader: str, psam_handle: int) -> dict[int, bytes]:
    """As ours: EF05 by tag until 05 answers 6982, both authentications, SELECT EF05 again, then the rest."""
    hresult, handle, _ = pc.SCardConnect(context, reader, pc.SCARD_SHARE_SHARED, pc.SCARD_PROTOCOL_T0)
    assert hresult == 0, pc.SCardGetErrorMessage(hresult)
    _, _, _, _, atr = pc.SCardStatus(handle)
    records: dict[int, bytes] = {}
    authenticated = False
    for apdu in RAW_APDUS:
        response, sw = raw_transmit(handle, apdu)
        if sw == 0x6982 and not authenticated:
            factors = psam.diversification_factors(records[0x01], psam.card_factors(bytes(atr))[0][1])
            factor, raw = os.urandom(8), os.urandom(8)
            proof, sw = raw_transmit(handle, psam.internal_authenticate(factor, raw))
            assert sw == 0x9000 and raw_psam_data(psam_handle, psam.PSAM_KEY_IRK, factors, factor, raw) == proof
            challenge, sw = raw_transmit(handle, psam.get_challenge())
            raw = os.urandom(8)
            proof = raw_psam_data(psam_handle, psam.PSAM_KEY_RKSSSE, factors, challenge, raw)
            assert raw_transmit(handle, psam.external_authenticate(proof, raw))[1] == 0x9000
            authenticated = True
            raw_transmit(handle, ss_card.select_ef(ss_card.EF05 if apdu[2] in EF05_TAGS else ss_card.EF06))
            response, sw = raw_transmit(handle, apdu)
        if apdu[1] == 0xB2 and sw == 0x9000:
            records[response[0]] = bytes(response[2:])
    pc.SCardDisconnect(handle, pc.SCARD_RESET_CARD)
    return records


def raw_wait_present(context: int, reader: str, present: bool) -> float:
    state = pc.SCARD_STATE_UNAWARE
    while True:
        hresult, states = pc.SCardGetStatusChange(context, 5000, [(reader, state)])
        assert hresult == 0, pc.SCardGetErrorMessage(hresult)
        state = states[0][1] & ~pc.SCARD_STATE_CHANGED
        if bool(state & pc.SCARD_STATE_PRESENT) == present:
            return time.monotonic()


# -- the measurements -------------------------------------------------------------------------
def measure_ours_in_the_kiosk_path(
    card: EmulatedCard, reader: str, n: int, psam_filter: str = ""
) -> tuple[list[float], list[float]]:
    """(a) and (c), or (d) with the PSAM's reader, through the card reader thread, as the kiosk receives CardRead."""
    events: queue.Queue[tuple[float, object]] = queue.Queue()
    thread = CardReaderThread(lambda e: events.put((time.monotonic(), e)), name_filter=reader, psam_filter=psam_filter)
    thread.start()
    seen_to_data, insert_to_data = [], []
    try:
        while psam_filter and not (isinstance(e := events.get(timeout=10)[1], PsamChanged) and e.ready):
            assert not isinstance(e, PsamChanged) or e.status == "absent", e
        for _ in range(n):
            inserted_at = card.insert()
            while not isinstance((got := events.get(timeout=10))[1], CardRead):
                assert not isinstance(got[1], CardUnreadable), got[1]
            seen_to_data.append(got[0] - thread.card_seen_at)
            insert_to_data.append(got[0] - inserted_at)
            card.remove()
            while not isinstance(events.get(timeout=10)[1], CardRemoved):
                pass
    finally:
        thread.stop()
    return seen_to_data, insert_to_data


def measure_raw_insert_to_data(card: EmulatedCard, reader: str, n: int) -> tuple[list[float], list[float]]:
    _, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    seen_to_data, insert_to_data = [], []
    for _ in range(n):
        inserted_at = card.insert()
        seen_at = raw_wait_present(context, reader, True)
        raw_read(context, reader)
        done = time.monotonic()
        seen_to_data.append(done - seen_at)
        insert_to_data.append(done - inserted_at)
        card.remove()
        raw_wait_present(context, reader, False)
    pc.SCardReleaseContext(context)
    return seen_to_data, insert_to_data


READS_TIMED_TOGETHER = 10  # a read takes ~2 ms: under --slow's 3 ms throttle period, alone, it measured the grain


def measure_read_alone(card: EmulatedCard, reader: str, n: int) -> tuple[list[float], list[float]]:
    """(b) the same card left in the reader, read each way in n rounds, interleaved; a round's figure is the mean
    of READS_TIMED_TOGETHER reads one after the other. Read by read, a slowed read that fit in the 1 ms of processor
    a period gives was 0.5 ms and one just over it 2.5 ms: the ratio was the grain, not the slower processor."""
    card.insert()
    _, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    raw_wait_present(context, reader, True)

    def ours_read() -> None:
        connected = connect_card(context, reader)
        assert not isinstance(connected, int)
        ss_card.read_card(connected.transmit)
        connected.disconnect()

    ours, raw = [], []
    for _ in range(n):
        for read, seconds in ((ours_read, ours), (lambda: raw_read(context, reader), raw)):
            start = time.perf_counter()
            for _ in range(READS_TIMED_TOGETHER):
                read()
            seconds.append((time.perf_counter() - start) / READS_TIMED_TOGETHER)
    pc.SCardReleaseContext(context)
    card.remove()
    return ours, raw


def measure_raw_gen3(card: EmulatedCard, reader: str, psam_reader: str, n: int) -> list[float]:
    """(d)'s reference: PC/SC present → the raw script's third-generation read done, the PSAM opened once."""
    _, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    psam_handle = raw_open_psam(context, psam_reader)
    seen_to_data = []
    for _ in range(n):
        card.insert()
        seen_at = raw_wait_present(context, reader, True)
        assert len(raw_read_gen3(context, reader, psam_handle)) == sum(not f.optional for f in ss_card.FIELDS)  # no 4E
        seen_to_data.append(time.monotonic() - seen_at)
        card.remove()
        raw_wait_present(context, reader, False)
    pc.SCardDisconnect(psam_handle, pc.SCARD_LEAVE_CARD)
    pc.SCardReleaseContext(context)
    return seen_to_data


def measure_greeting_gen3(card: EmulatedCard, reader: str, psam_reader: str, n: int) -> list[float]:
    """(e) the kiosk's window as bench/ui.py measures its greeting, its reader thread given the PSAM's reader."""
    from PySide6.QtWidgets import QApplication

    from bench.sync import start_backend
    from bench.ui import Paints, in_background, settle, wait
    from kiosk.cli import devices
    from kiosk.config import from_text
    from kiosk.hall.api import SAMPLE
    from kiosk.session import Screen
    from ui.app import KioskApp

    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-bench-card-"))
    backend, _ = start_backend(folder, SAMPLE)
    text = (folder / "backend" / "kiosk.toml").read_text()
    config = from_text(
        text + f'\n[reader]\nname_filter = "{reader}"\npsam_filter = "{psam_reader}"\n[session]\nrequire_pin = false\n'
    )
    kiosk = KioskApp(config, devices())
    kiosk.window.resize(1920, 1080)
    paints = Paints(kiosk)
    kiosk.window.pages.installEventFilter(paints)
    kiosk.window.show()
    greeting = []
    try:
        wait(app, lambda: kiosk.window.view.screen == Screen.ATTRACT and paints.painted)
        kiosk.start()
        wait(app, lambda: len(kiosk.window.view.headlines) > 0)
        settle(app)  # the start-up renders, and the PSAM opened, are not a session
        for _ in range(n):
            paints.painted.clear()
            inserting = in_background(card.insert)
            wait(app, lambda: any(v.screen == Screen.NOTICES for _, v in paints.painted))
            inserting.join()
            card_seen = kiosk.reader.card_seen_at  # type: ignore[union-attr]
            greeting.append(next(t for t, v in paints.painted if v.screen == Screen.NOTICES) - card_seen)
            wait(app, lambda: any(v.screen == Screen.NOTICES and not v.personal_loading for _, v in paints.painted))
            in_background(card.remove).join()
            wait(app, lambda: kiosk.window.view.screen == Screen.ATTRACT)
    finally:
        kiosk.stop()
        kiosk.window.close()
        backend.terminate()
        backend.wait()
    return greeting


def measure(inserts: int, reader: str, psam_reader: str) -> list[Row]:
    """(a) to (e), each beside the raw script; needs a PC/SC service with the two vpcd readers."""
    pcscd = ensure_pcscd()
    card = EmulatedCard()
    try:
        a_ours, c_ours = measure_ours_in_the_kiosk_path(card, reader, inserts)
        a_raw, c_raw = measure_raw_insert_to_data(card, reader, inserts)
        b_ours, b_raw = measure_read_alone(card, reader, inserts)
        card.close()
        time.sleep(PCSCD_POLL_S)  # the new card's process cannot know when the last one left: pcscd must see it out
        card, slot = EmulatedCard(PERSON_GEN3), EmulatedPsam()
        slot.insert()
        try:
            d_ours, _ = measure_ours_in_the_kiosk_path(card, reader, inserts, psam_filter=psam_reader)
            d_raw = measure_raw_gen3(card, reader, psam_reader, inserts)
            e_ours = measure_greeting_gen3(card, reader, psam_reader, inserts)
        finally:
            slot.close()
    finally:
        card.close()
        pcscd.stop()
    (am, ap), (bm, bp), (cm, cp) = ms(a_ours), ms(b_ours), ms(c_ours)
    (arm, arp), (brm, brp), (crm, crp) = ms(a_raw), ms(b_raw), ms(c_raw)
    (dm, dp), (drm, drp), (em, ep) = ms(d_ours), ms(d_raw), ms(e_ours)
    raw, raw3 = "raw pyscard script", "raw pyscard, card + PSAM"
    return [
        Row("card.present_to_data", "(a) PC/SC present → CardData", am, ap, arm, arp, raw, "≤ 30 ms median", am <= 30),
        Row("card.read_alone", "(b) full read alone", bm, bp, brm, brp, raw, "≤ 1.5 × raw", bm <= 1.5 * brm),
        Row("card.insert_to_data", "(c) insert → CardData", cm, cp, crm, crp, raw, "≤ raw + 30 ms", cm <= crm + 30),
        Row("card.gen3_present_to_data", "(d) 3rd gen + PSAM: PC/SC present → CardData", dm, dp, drm, drp, raw3),
        Row("card.gen3_greeting", "(e) 3rd gen + PSAM: PC/SC present → greeting painted", em, ep, drm, drp, raw3,
            "≤ 100 ms median", em <= 100),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inserts", type=int, default=50)
    parser.add_argument("--reader", default="Virtual PCD 00 00")
    parser.add_argument("--psam-reader", default=PSAM_READER, help="the reader of the PSAM, for (d) and (e)")
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line (for bench/run)")
    add_option(parser)
    args = parser.parse_args()
    slowed = confine(args.slow)  # before anything is started: all of it runs on the slow terminal
    rows = measure(args.inserts, args.reader, args.psam_reader)
    # 3rd gen adds 05's 6982, INTERNAL and EXTERNAL AUTHENTICATE, GET CHALLENGE, SELECT EF05 again; 2 × 2 to the PSAM
    apdus = f"{len(RAW_APDUS)} APDUs a read (3rd gen: {len(RAW_APDUS) + 5} to the card, 4 to the PSAM)"
    title = f"card read, {args.inserts} inserts each, readers {args.reader!r} and {args.psam_reader!r}, {apdus}"
    title += f", {slowed}" if slowed else ""
    note = "(ms; detection itself, insert → PC/SC present, is pcscd polling vpcd every ~400 ms: not ours)"
    return report(rows, title, note, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
