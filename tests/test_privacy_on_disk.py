"""After a session, nothing personal is on the kiosk's disk or in its logs."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from pathlib import Path

from hardware.pcsc import CardReaderThread
from kiosk.cache import BroadcastCache
from kiosk.events import CardRead, CardRemoved
from kiosk.hall.server import HallServer
from kiosk.outbox import Outbox
from kiosk.privacy import personal_data_in
from kiosk.sync import Backend, BackendSettings, flush_outbox, sync_broadcast
from tests.conftest import READER, person_fields


def test_a_whole_session_leaves_nothing_personal_on_disk(
    tmp_path: Path, backend: HallServer, card_slot: Callable[..., object]
) -> None:
    data = tmp_path / "kiosk-data"
    log_file = data / "kiosk.log"
    data.mkdir()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        cache = BroadcastCache(data / "broadcast.sqlite3")
        outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
        client = Backend(BackendSettings(url=backend.url, ca_file=str(backend.tls.ca_file), token=backend.token))
        sync_broadcast(client, cache)
        events: queue.Queue[object] = queue.Queue()
        reader = CardReaderThread(events.put, name_filter=READER)
        reader.start()
        emulator = card_slot("wang-ming")
        while not isinstance(read := events.get(timeout=10), CardRead):
            pass
        reader.verify_pin("123456")
        mine = client.personal(read.card.ssn, read.card.card_no)
        for notice in mine.notices:
            outbox.add_receipt(notice.id, mine.subject, "read", None)
        outbox.add_receipt(None, mine.subject, "rating", "good")
        flush_outbox(client, outbox)
        outbox.add_receipt(mine.notices[0].id, mine.subject, "remind_later", "7")  # one left waiting on disk
        logging.getLogger("test").info("session card %r, notices %r", read.card, mine)
        emulator.remove()
        while not isinstance(events.get(timeout=10), CardRemoved):
            pass
        reader.stop()
        cache.close()
        outbox.close()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()

    person = person_fields("wang-ming")
    secrets = [person["ssn"], person["card_no"], person["name"], person["card_id"], mine.subject]
    files = [p for p in data.rglob("*") if p.is_file()]
    assert log_file in files and log_file.stat().st_size > 0, "the log must have been written to be checked"
    assert any(p.name == "outbox.sqlite3" for p in files)
    found = personal_data_in(files, secrets)
    assert not found, f"personal data kept: {found}"
