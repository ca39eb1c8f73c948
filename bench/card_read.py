"""Card read timings through the real pcscd and vpcd, ours beside a minimal raw pyscard script in the same run.

(a) PC/SC reports the card present → CardData ready   (budget: ≤ 30 ms median)
(b) the full read alone: connect, every APDU, parse    (budget: ≤ 1.5 × raw)
(c) insert → CardData ready                            (budget: ≤ raw + 30 ms)

The emulated card runs in its own process (`ss-kiosk emulate-card`), driven over stdin, so its
threads do not share our GIL. Usage: python bench/card_read.py [--inserts 50] [--reader NAME]
"""

from __future__ import annotations

import argparse
import queue
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smartcard import scard as pc  # noqa: E402

from bench import Row, ms, report  # noqa: E402
from hardware import ss_card  # noqa: E402
from hardware.pcsc import CardReaderThread, connect_card  # noqa: E402
from hardware.pcscd import ensure_pcscd  # noqa: E402
from kiosk.events import CardRead, CardRemoved  # noqa: E402

PERSON = ROOT / "assets" / "persons" / "gulnazar.json"  # the longest read: 4E present


class EmulatedCard:
    """`ss-kiosk emulate-card` in a child process; insert() returns when (monotonic) it went in."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "emulate-card", "--person", str(PERSON), "--removed"],
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


# -- the raw reference: what a minimal pyscard script would do -----------------------------------
RAW_APDUS = [ss_card.select_ssse(), ss_card.select_ef(ss_card.EF05)]
RAW_APDUS += [ss_card.read_record_by_tag(f.tag, f.length + 2) for f in ss_card.FIELDS if f.ef == ss_card.EF05]
RAW_APDUS += [ss_card.select_ef(ss_card.EF06)]
RAW_APDUS += [ss_card.read_record_by_tag(f.tag, f.length + 2) for f in ss_card.FIELDS if f.ef == ss_card.EF06]


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


def raw_wait_present(context: int, reader: str, present: bool) -> float:
    state = pc.SCARD_STATE_UNAWARE
    while True:
        hresult, states = pc.SCardGetStatusChange(context, 5000, [(reader, state)])
        assert hresult == 0, pc.SCardGetErrorMessage(hresult)
        state = states[0][1] & ~pc.SCARD_STATE_CHANGED
        if bool(state & pc.SCARD_STATE_PRESENT) == present:
            return time.monotonic()


# -- the measurements -------------------------------------------------------------------------
def measure_ours_in_the_kiosk_path(card: EmulatedCard, reader: str, n: int) -> tuple[list[float], list[float]]:
    """(a) and (c) through the card reader thread, as the kiosk receives CardRead."""
    events: queue.Queue[tuple[float, object]] = queue.Queue()
    thread = CardReaderThread(lambda e: events.put((time.monotonic(), e)), name_filter=reader)
    thread.start()
    seen_to_data, insert_to_data = [], []
    try:
        for _ in range(n):
            inserted_at = card.insert()
            while not isinstance((got := events.get(timeout=10))[1], CardRead):
                pass
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


def measure_read_alone(card: EmulatedCard, reader: str, n: int) -> tuple[list[float], list[float]]:
    """(b) the same card left in the reader, read n times each way, interleaved."""
    card.insert()
    _, context = pc.SCardEstablishContext(pc.SCARD_SCOPE_USER)
    raw_wait_present(context, reader, True)
    ours, raw = [], []
    for _ in range(n):
        start = time.perf_counter()
        connected = connect_card(context, reader)
        assert not isinstance(connected, int)
        ss_card.read_card(connected.transmit)
        connected.disconnect()
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw_read(context, reader)
        raw.append(time.perf_counter() - start)
    pc.SCardReleaseContext(context)
    card.remove()
    return ours, raw


def measure(inserts: int, reader: str) -> list[Row]:
    """(a), (b) and (c), each beside the raw script; needs a PC/SC service with the vpcd reader."""
    pcscd = ensure_pcscd()
    card = EmulatedCard()
    try:
        a_ours, c_ours = measure_ours_in_the_kiosk_path(card, reader, inserts)
        a_raw, c_raw = measure_raw_insert_to_data(card, reader, inserts)
        b_ours, b_raw = measure_read_alone(card, reader, inserts)
    finally:
        card.close()
        pcscd.stop()
    (am, ap), (bm, bp), (cm, cp) = ms(a_ours), ms(b_ours), ms(c_ours)
    (arm, arp), (brm, brp), (crm, crp) = ms(a_raw), ms(b_raw), ms(c_raw)
    raw = "raw pyscard script"
    return [
        Row("card.present_to_data", "(a) PC/SC present → CardData", am, ap, arm, arp, raw, "≤ 30 ms median", am <= 30),
        Row("card.read_alone", "(b) full read alone", bm, bp, brm, brp, raw, "≤ 1.5 × raw", bm <= 1.5 * brm),
        Row("card.insert_to_data", "(c) insert → CardData", cm, cp, crm, crp, raw, "≤ raw + 30 ms", cm <= crm + 30),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inserts", type=int, default=50)
    parser.add_argument("--reader", default="Virtual PCD 00 00")
    parser.add_argument("--json", action="store_true", help="the rows as one JSON line (for bench/run)")
    args = parser.parse_args()
    rows = measure(args.inserts, args.reader)
    title = f"card read, {args.inserts} inserts each, reader {args.reader!r}, {len(RAW_APDUS)} APDUs a read"
    note = "(ms; detection itself, insert → PC/SC present, is pcscd polling vpcd every ~400 ms: not ours)"
    return report(rows, title, note, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
