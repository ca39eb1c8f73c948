"""The sync client against the reference backend on real loopback TLS: happy paths, hostile answers, trust."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import ssl
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from kiosk import sync
from kiosk.cache import BroadcastCache
from kiosk.hall.api import (
    Fault,
    answer_lost,
    fail_with,
    garbage,
    json_response,
    oversized,
    read_body,
    since_midnight,
    slow,
)
from kiosk.hall.server import HallServer, TLSMaterial
from kiosk.notices import parse_notices
from kiosk.outbox import Outbox
from kiosk.sync import Backend, BackendError, BackendSettings, flush_outbox, sync_broadcast

WANG_MING = ("110105194803151234", "A10000001")


def test_first_sync_then_304(settings: BackendSettings, stores: tuple[BroadcastCache, Outbox]) -> None:
    cache, _ = stores
    report = sync_broadcast(Backend(settings), cache)
    assert (report.new, report.updated, report.deleted, report.skipped) == (16, 0, 0, [])
    assert len(cache.notices()) == 16 and not cache.stale()
    again = sync_broadcast(Backend(settings), cache)
    assert again.not_modified and again.new == 0


def test_paging_until_more_is_false(backend: HallServer, settings: BackendSettings, stores: tuple) -> None:
    cache, _ = stores
    backend.page_size = 3
    report = sync_broadcast(Backend(settings), cache)
    assert report.pages == 6 and report.new == 16
    assert cache.cursor and cache.cursor.endswith(f".{backend.revision}")


def test_updates_and_deletions_apply(backend: HallServer, settings: BackendSettings, stores: tuple) -> None:
    cache, _ = stores
    client = Backend(settings)
    sync_broadcast(client, cache)
    first, second = sorted(backend.broadcast)[:2]
    backend.publish({**backend.broadcast[first], "version": 2, "title": "新的标题"})
    backend.delete(second)
    report = sync_broadcast(client, cache)
    assert (report.new, report.updated, report.deleted, report.not_modified) == (0, 1, 1, False)
    titles = {n.id: n.title for n in cache.notices()}
    assert titles[first] == "新的标题" and second not in titles


def test_the_notices_read_follow_each_sync_and_a_sync_by_another_process(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    cache, _ = stores
    client = Backend(settings)
    sync_broadcast(client, cache)
    assert len(cache.notices()) == 16  # parsed once; later syncs update what was parsed
    first, second = sorted(backend.broadcast)[:2]
    backend.publish({**backend.broadcast[first], "version": 2, "title": "新的标题"})
    backend.delete(second)
    sync_broadcast(client, cache)
    titles = {n.id: n.title for n in cache.notices()}
    assert titles[first] == "新的标题" and second not in titles and len(titles) == 15
    by_hand = BroadcastCache(cache.path)  # `kiosk sync` beside the running kiosk
    backend.publish({**backend.broadcast[first], "version": 3, "title": "又改了"})
    sync_broadcast(client, by_hand)
    by_hand.close()
    assert {n.id: n.title for n in cache.notices()}[first] == "又改了"


def test_invalid_notices_are_skipped_by_id_and_the_rest_kept(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    cache, _ = stores
    backend.publish({"id": "broken-priority", "priority": "???"})
    backend.publish({**backend.broadcast[sorted(backend.broadcast)[0]], "id": "broken-url", "action_url": "ftp://x"})
    report = sync_broadcast(Backend(settings), cache)
    assert report.new == 16
    assert [line.split(":")[0] for line in report.skipped] == ["'broken-priority'", "'broken-url'"]


def test_a_forgotten_cursor_rebuilds_the_cache(tmp_path: Path, settings: BackendSettings, stores: tuple) -> None:
    cache, _ = stores
    sync_broadcast(Backend(settings), cache)
    cache.apply_page([], [], "0000.99")  # a cursor from another life of the backend
    sync_broadcast(Backend(settings), cache)
    assert len(cache.notices()) == 16 and not cache.reloading
    assert cache.cursor and not cache.cursor.startswith("0000.")


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (fail_with(500), "server_error", "error (500)"),
        (fail_with(503), "server_error", "error (503)"),
        (garbage, "bad_answer", "not JSON"),
        (oversized, "bad_answer", "larger than 2 MB"),
    ],
)
def test_hostile_answers_are_one_sentence_and_lose_nothing(
    backend: HallServer, settings: BackendSettings, stores: tuple, fault: object, kind: str, words: str
) -> None:
    cache, _ = stores
    sync_broadcast(Backend(settings), cache)
    backend.publish({**backend.broadcast[sorted(backend.broadcast)[0]], "version": 9})
    backend.faults["/notices/broadcast"] = fault
    with pytest.raises(BackendError) as caught:
        sync_broadcast(Backend(settings), cache)
    assert caught.value.kind == kind and words in str(caught.value)
    assert len(cache.notices()) == 16, "the cache keeps what it had"
    del backend.faults["/notices/broadcast"]
    assert sync_broadcast(Backend(settings), cache).updated == 1


def test_a_slow_backend_times_out(
    backend: HallServer, settings: BackendSettings, stores: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "READ_TIMEOUT_S", 0.3)
    backend.faults["/notices/broadcast"] = slow(1.5)
    with pytest.raises(BackendError, match=r"did not answer within 0\.3 s") as caught:
        sync_broadcast(Backend(settings), stores[0])
    assert caught.value.kind == "unreachable"


def test_a_certificate_for_another_host_is_refused(tmp_path: Path, stores: tuple) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    server = HallServer(folder, tls=TLSMaterial(folder, names=("notices.other.example",))).start()
    try:
        settings = BackendSettings(url=server.url, ca_file=str(server.tls.ca_file), token=server.token)
        with pytest.raises(BackendError, match="for another host") as caught:
            sync_broadcast(Backend(settings), stores[0])
        assert caught.value.kind == "untrusted"
    finally:
        server.stop()


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server certificate that signs itself, for 127.0.0.1: what a rogue box on the hall network would show."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / "self.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "self.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "self.pem", folder / "self.key")
    return context


def test_a_self_signed_certificate_is_refused(tmp_path: Path, stores: tuple) -> None:
    folder = tmp_path / "rogue"
    folder.mkdir()
    server = HallServer(folder, server_context=self_signed_context(folder)).start()
    try:
        settings = BackendSettings(url=server.url, ca_file=str(server.tls.ca_file), token=server.token)
        with pytest.raises(BackendError, match="not signed by the configured CA") as caught:
            sync_broadcast(Backend(settings), stores[0])
        assert caught.value.kind == "untrusted" and stores[0].notices() == []
    finally:
        server.stop()


def test_a_certificate_from_another_ca_is_refused_even_if_the_environment_trusts_it(
    tmp_path: Path, backend: HallServer, settings: BackendSettings, stores: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger = TLSMaterial(tmp_path / "stranger")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(backend.tls.ca_file))  # must not widen what the kiosk trusts
    monkeypatch.setenv("CURL_CA_BUNDLE", str(backend.tls.ca_file))
    wrong_ca = dataclasses.replace(settings, ca_file=str(stranger.ca_file))
    with pytest.raises(BackendError, match="not signed by the configured CA") as caught:
        sync_broadcast(Backend(wrong_ca), stores[0])
    assert caught.value.kind == "untrusted"
    assert stores[0].notices() == []


def test_no_configured_ca_means_the_system_store_which_refuses_a_private_ca(
    settings: BackendSettings, stores: tuple
) -> None:
    with pytest.raises(BackendError, match="not trusted"):
        sync_broadcast(Backend(dataclasses.replace(settings, ca_file="")), stores[0])


@pytest.mark.parametrize(
    ("url", "allow", "refused"),
    [
        ("http://10.0.0.1/api/v1", True, True),  # never plain HTTP off this machine, demo or not
        ("http://notices.example/api/v1", True, True),
        ("http://127.0.0.1:8080/api/v1", False, True),
        ("ftp://127.0.0.1/api/v1", True, True),
        ("http://127.0.0.1:8080/api/v1", True, False),
        ("http://[::1]:8080/api/v1", True, False),
        ("https://notices.example/api/v1", False, False),
    ],
)
def test_plain_http_only_to_loopback_in_demo(url: str, allow: bool, refused: bool) -> None:
    settings = BackendSettings(url=url, allow_loopback_http=allow)
    if refused:
        with pytest.raises(BackendError) as caught:
            Backend(settings)
        assert caught.value.kind == "refused"
    else:
        Backend(settings)


def test_a_wrong_token_is_refused(settings: BackendSettings, stores: tuple) -> None:
    with pytest.raises(BackendError, match="refused this kiosk's token"):
        sync_broadcast(Backend(dataclasses.replace(settings, token="wrong")), stores[0])


def test_unreachable_backend(settings: BackendSettings, backend: HallServer, stores: tuple) -> None:
    backend.stop()
    with pytest.raises(BackendError, match="cannot be reached") as caught:
        sync_broadcast(Backend(settings), stores[0])
    assert caught.value.kind == "unreachable"
    backend.start = lambda: backend  # type: ignore[method-assign]
    backend.stop = lambda: None  # type: ignore[method-assign]


# -- personal notices and feedback ---------------------------------------------------------------
def test_personal_notices_travel_in_the_body_never_the_url(backend: HallServer, settings: BackendSettings) -> None:
    mine = Backend(settings).personal(*WANG_MING)
    assert len(mine.subject) == 32 and len(mine.notices) == 4
    assert all(n.personal for n in mine.notices)
    assert all(WANG_MING[0] not in path for _, path in backend.requests)
    assert WANG_MING[0] not in repr(mine)


def test_mute_and_remind_later_are_honoured_next_time(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    _, outbox = stores
    client = Backend(settings)
    mine = client.personal(*WANG_MING)
    by_category = {n.category: n for n in mine.notices}
    case = by_category["case_progress"]
    certification = by_category["certification_due"]  # urgent: never muted
    outbox.add_receipt(case.id, mine.subject, "remind_later", "7")
    outbox.add_receipt(certification.id, mine.subject, "mute_category", "certification_due")
    outbox.add_receipt(None, None, "rating", "good")
    report = flush_outbox(client, outbox)
    assert report.receipts_sent == 3 and outbox.depth() == 0
    again = client.personal(*WANG_MING)
    ids = {n.id for n in again.notices}
    assert case.id not in ids and case.id in again.snoozed
    assert certification.id in ids and "certification_due" in again.muted


def test_help_requests_and_heartbeats_reach_the_backend(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    _, outbox = stores
    client = Backend(settings)
    outbox.add_assist("test-kiosk", "notice_detail")
    assert flush_outbox(client, outbox).assists_sent == 1
    assert backend.assists()[0][1:] == ("test-kiosk", "notice_detail")
    client.heartbeat(None, 0, 12.5, {"reader": "ok", "psam": "locked"})
    assert backend.heartbeats()[-1] == {"kiosk_id": "test-kiosk", "version": "0.1.0", "reader": "ok", "psam": "locked",
                                        "last_sync": None, "outbox_depth": 0, "uptime_s": 12.5,
                                        "counts": {"network_calls": 1}}  # fmt: skip  # the flush before it


def test_the_card_and_network_errors_a_kiosk_counted_reach_the_halls_figures_once(
    backend: HallServer, settings: BackendSettings
) -> None:
    client = Backend(settings)
    client.tally.add("card_reads", 4)
    client.tally.add("card_errors")
    backend.faults["/heartbeat"] = fail_with(503)
    with pytest.raises(BackendError):
        client.heartbeat(None, 0, 1.0, {"reader": "ok"})
    del backend.faults["/heartbeat"]
    client.heartbeat(None, 0, 2.0, {"reader": "ok"})  # carries what the failed one could not, and the failure itself
    client.heartbeat(None, 0, 3.0, {"reader": "ok"})
    day = backend.store.day_counts(since_midnight())["test-kiosk"]
    assert (day["card_reads"], day["card_errors"]) == (4, 1), day
    assert (day["network_calls"], day["network_errors"]) == (2, 1), day  # the third heartbeat's own call is next


def test_receipts_arrive_exactly_once_when_the_answer_is_lost(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    _, outbox = stores
    client = Backend(settings)
    ids = [outbox.add_receipt("n", "subject-token-0123456789", "read", None) for _ in range(3)]
    backend.faults["/receipts"] = answer_lost
    with pytest.raises(BackendError):
        flush_outbox(client, outbox)
    assert outbox.depth() == 3, "not deleted without the backend's word"
    del backend.faults["/receipts"]
    flush_outbox(client, outbox)
    assert outbox.depth() == 0
    assert sorted(r[0] for r in backend.receipts()) == sorted(ids)


def test_the_outbox_is_encrypted_at_rest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    outbox.add_receipt("notice-with-a-findable-id", "subject-findable-token", "mute_category", "policy_update")
    outbox.close()
    raw = b"".join(p.read_bytes() for p in data.iterdir() if p.name != "outbox.key")
    for secret in (b"notice-with-a-findable-id", b"subject-findable-token", b"policy_update"):
        assert secret not in raw
    assert (data / "outbox.key").stat().st_mode & 0o777 == 0o600
    assert (
        Outbox(data / "outbox.sqlite3", data / "outbox.key").pending("receipt")[0].payload["value"] == "policy_update"
    )


def test_an_outbox_item_sealed_with_another_key_is_set_aside_not_sent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Outbox(data / "outbox.sqlite3", data / "outbox.key").add_receipt("n", "s", "read", None)
    (data / "outbox.key").unlink()
    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    assert outbox.pending("receipt") == [] and outbox.undeliverable() == 1 and outbox.depth() == 0


def test_a_corrupt_cache_is_set_aside_and_rebuilt(tmp_path: Path, settings: BackendSettings) -> None:
    path = tmp_path / "broadcast.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)
    cache = BroadcastCache(path)
    assert cache.rebuilt and cache.notices() == []
    assert sync_broadcast(Backend(settings), cache).new == 16
    assert [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_every_field_of_a_notice_comes_back_from_the_cache_as_it_was_synced(
    backend: HallServer, settings: BackendSettings, tmp_path: Path
) -> None:
    """Kept as columns: what a restarted kiosk reads from the file is what the sync validated."""
    client = Backend(settings)
    _, _, page = client.call("GET", "/notices/broadcast")
    synced = {n.id: n for n, _ in parse_notices(page["notices"])[0]}
    cache = BroadcastCache(tmp_path / "b.sqlite3")
    sync_broadcast(client, cache)
    cache.close()
    reopened = {n.id: n for n in BroadcastCache(tmp_path / "b.sqlite3").notices()}
    assert reopened == synced
    kinds = {(n.audience is None, n.deadline is None, not n.action_url) for n in synced.values()}
    assert len(kinds) > 3  # with and without audience, deadline, URL: each way a column can be empty


def test_a_cache_an_older_kiosk_wrote_is_synced_again_from_the_start(tmp_path: Path, settings: BackendSettings) -> None:
    path = tmp_path / "broadcast.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE notice (id TEXT PRIMARY KEY, version INTEGER NOT NULL, json TEXT NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO notice VALUES ('old', 1, '{}'); INSERT INTO meta VALUES ('cursor', 'c.99'), ('etag', 'e');"
    )
    old.commit()
    old.close()
    cache = BroadcastCache(path)
    assert cache.rebuilt and cache.cursor is None and cache.notices() == []
    assert sync_broadcast(Backend(settings), cache).new == 16
    assert len(BroadcastCache(path).notices()) == 16 and not BroadcastCache(path).rebuilt


def test_a_damaged_row_of_the_cache_is_dropped_and_the_others_kept(
    tmp_path: Path, settings: BackendSettings, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "broadcast.sqlite3"
    cache = BroadcastCache(path)
    sync_broadcast(Backend(settings), cache)
    victim = sorted(n.id for n in cache.notices())[0]
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE notice SET valid_from = 'yesterday' WHERE id = ?", (victim,))
    kept = BroadcastCache(path).notices()
    assert len(kept) == 15 and victim not in {n.id for n in kept}
    assert f"cached notice {victim!r} unreadable" in caplog.text


def test_a_corrupt_outbox_keeps_what_can_be_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    for _ in range(5):
        outbox.add_receipt("n", "s", "read", None)
    outbox.close()
    (data / "outbox.sqlite3-wal").unlink(missing_ok=True)
    raw = bytearray((data / "outbox.sqlite3").read_bytes())
    raw[100:200] = b"\xff" * 100  # break the first page's header area
    (data / "outbox.sqlite3").write_bytes(bytes(raw))
    reopened = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    assert reopened.depth() in range(0, 6)
    reopened.add_receipt("n", "s", "read", None)  # and it works on


def settings_dir(settings: BackendSettings) -> Path:
    return Path(settings.ca_file).parent


# -- conformance to docs/api.yaml ------------------------------------------------------------
def test_backend_answers_conform_to_the_openapi_document(backend: HallServer, settings: BackendSettings) -> None:
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "docs" / "api.yaml").read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(spec))

    def check(schema: str, body: object) -> None:
        ref = {"$ref": f"urn:api#/components/schemas/{schema}"}
        errors = list(Draft202012Validator(ref, registry=registry).iter_errors(body))
        assert not errors, f"{schema}: {errors[0].message}"

    client = Backend(settings)
    status, headers, page = client.call("GET", "/notices/broadcast")
    assert status == 200 and headers["ETag"]
    check("BroadcastPage", page)
    _, _, personal = client.call("POST", "/notices/personal", {"ssn": WANG_MING[0], "card_no": WANG_MING[1]})
    check("PersonalResult", personal)
    receipt = {"id": "0b0f4b52-4b8e-4c5f-9a3e-4d1c2b3a4f5e", "notice_id": None, "subject": None,
               "action": "rating", "value": "good", "at": "2026-11-26T10:00:00+08:00"}  # fmt: skip
    check("Receipt", receipt)
    _, _, accepted = client.call("POST", "/receipts", {"receipts": [receipt]})
    check("ReceiptResult", accepted)
    assist = {"id": "1c1f4b52-4b8e-4c5f-9a3e-4d1c2b3a4f5e", "kiosk_id": "test-kiosk", "screen": "attract",
              "at": "2026-11-26T10:00:00+08:00"}  # fmt: skip
    check("AssistRequest", assist)
    _, _, result = client.call("POST", "/assist", assist)
    check("AssistResult", result)
    outbox = Outbox(settings_dir(settings) / "outbox.sqlite3", settings_dir(settings) / "outbox.key")
    for action, value in (("read", None), ("mute_category", "policy_update"), ("remind_later", "7")):
        outbox.add_receipt("notice-1", "subject-0123456789abcdef", action, value)
    outbox.add_receipt(None, None, "rating", "ok")
    check("ReceiptBatch", {"receipts": [item.payload for item in outbox.pending("receipt")]})
    outbox.add_assist("test-kiosk", "attract")
    check("AssistRequest", outbox.pending("assist")[0].payload)
    client.tally.add("card_reads", 2)
    client.heartbeat(1764000000.0, 3, 60.0, {"reader": "ok", "voice": "ready", "printer": "paper_out"})
    assert "counts" in backend.heartbeats()[-1]
    check("Heartbeat", backend.heartbeats()[-1])
    check("PersonalRequest", {"ssn": WANG_MING[0], "card_no": WANG_MING[1]})

    import requests

    refused = requests.get(settings.url + "/notices/broadcast", verify=settings.ca_file, timeout=5)
    assert refused.status_code == 401
    check("Error", refused.json())


# -- what the review found --------------------------------------------------------------------
def test_notices_that_break_in_unforeseen_ways_are_skipped_one_by_one(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    cache, _ = stores
    base = backend.broadcast[sorted(backend.broadcast)[0]]
    backend.publish({**base, "id": "bad-url", "action_url": "https://[x"})
    backend.publish({**base, "id": "huge-version", "version": 2**63})
    backend.publish({**base, "id": "surrogate", "title": "\ud800"})
    backend.publish({**base, "id": "surrogate-elsewhere", "colour": "\udfff"})
    report = sync_broadcast(Backend(settings), cache)
    assert report.new == 17, "the notice with an odd unknown field is kept, its text is fine"
    assert sorted(line.split(":")[0] for line in report.skipped) == ["'bad-url'", "'huge-version'", "'surrogate'"]


def test_a_forgotten_cursor_keeps_the_old_notices_until_the_new_set_is_complete(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    cache, _ = stores
    client = Backend(settings)
    sync_broadcast(client, cache)
    gone = sorted(backend.broadcast)[0]
    backend.delete(gone)
    cache.apply_page([], [], "0000.99")  # the backend restarted: it will answer 410 to this cursor
    backend.page_size = 5
    calls = {"n": 0}

    def fail_second_page(handler: object) -> bool:
        calls["n"] += 1
        return calls["n"] == 3 and fail_with(503)(handler)

    backend.faults["/notices/broadcast"] = fail_second_page
    with pytest.raises(BackendError):
        sync_broadcast(client, cache)
    assert len(cache.notices()) == 16, "the attract screen keeps what it had while the reload is incomplete"
    del backend.faults["/notices/broadcast"]
    report = sync_broadcast(client, cache)
    assert gone not in {n.id for n in cache.notices()} and len(cache.notices()) == 15
    assert report.deleted == 1 and not cache.reloading


def test_an_empty_ca_setting_trusts_certifi_never_the_environment(
    backend: HallServer, settings: BackendSettings, stores: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(backend.tls.ca_file))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(backend.tls.ca_file))
    with pytest.raises(BackendError, match="not trusted"):
        sync_broadcast(Backend(dataclasses.replace(settings, ca_file="")), stores[0])


def test_a_missing_ca_file_is_one_sentence(settings: BackendSettings, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"CA file .* does not exist") as caught:
        Backend(dataclasses.replace(settings, ca_file=str(tmp_path / "nope.pem")))
    assert caught.value.kind == "untrusted"


def test_help_requests_go_out_even_while_broadcast_sync_fails(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    cache, outbox = stores
    backend.faults["/notices/broadcast"] = fail_with(503)
    outbox.add_assist("test-kiosk", "pin")
    worker = sync.SyncWorker(Backend(settings), cache, outbox, interval_s=300)
    result = worker.sync_round()
    assert isinstance(result, BackendError) and result.kind == "server_error"
    assert [a[2] for a in backend.assists()] == ["pin"]
    assert backend.heartbeats(), "the heartbeat still went"


def test_a_receipt_the_backend_refuses_is_set_aside_and_blocks_nothing(
    backend: HallServer, settings: BackendSettings, stores: tuple
) -> None:
    _, outbox = stores
    refused = outbox.add_receipt("n1", "subject-0123456789abcdef", "read", None)
    backend.faults["/receipts"] = accept_all_but(backend, refused)
    fine = outbox.add_receipt("n2", "subject-0123456789abcdef", "read", None)
    report = flush_outbox(Backend(settings), outbox)
    assert report.receipts_sent == 1 and outbox.depth() == 0 and outbox.undeliverable() == 1
    assert [r[0] for r in backend.receipts()] == [fine]


def accept_all_but(backend: HallServer, refused_id: str) -> Fault:
    """The backend stores and accepts every receipt of the batch but one, which it refuses."""

    async def fault(request: Request) -> Response:
        receipts = (await read_body(request))["receipts"]
        kept = [r for r in receipts if r["id"] != refused_id]
        accepted = backend.store.add_receipts(kept, request.headers["X-Kiosk-Id"])
        return json_response(200, {"accepted": accepted})

    return fault


@pytest.mark.parametrize(
    ("notice_id", "subject", "action", "value"),
    [("n", None, "read", None), ("n", "s", "mute_category", "lottery"), ("n", "s", "wave", None)],
)
def test_receipts_the_backend_could_never_accept_are_refused_when_queued(
    tmp_path: Path, notice_id: str, subject: str | None, action: str, value: str | None
) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", tmp_path / "o.key")
    with pytest.raises(ValueError):
        outbox.add_receipt(notice_id, subject, action, value)
    assert outbox.depth() == 0


def test_an_empty_outbox_key_is_a_clear_message(tmp_path: Path) -> None:
    from kiosk.outbox import OutboxError

    (tmp_path / "o.key").write_bytes(b"")
    with pytest.raises(OutboxError, match="move it aside"):
        Outbox(tmp_path / "o.sqlite3", tmp_path / "o.key")


def test_a_refused_receipt_held_in_memory_on_a_full_disk_is_not_sent_again_and_again(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", tmp_path / "o.key")
    outbox.query(f"PRAGMA max_page_count = {outbox.query('PRAGMA page_count')[0][0]}")  # the disk is full
    for _ in range(3):
        outbox.add_receipt("n1", "subject-0123456789abcdef", "read", "x" * 3000)
    assert outbox.held() > 0

    class Refusing:
        posts = 0

        def call(self, method: str, path: str, body: dict) -> tuple:
            Refusing.posts += 1
            assert Refusing.posts < 10, "the same refused receipts were posted again and again"
            return 200, {}, {"accepted": []}

    with contextlib.suppress(sqlite3.OperationalError):  # setting them aside may need the disk too
        flush_outbox(Refusing(), outbox)  # type: ignore[arg-type]
    assert Refusing.posts == 1
    outbox.query("PRAGMA max_page_count = 100000")  # staff free the disk
    assert outbox.pending("receipt") == [] and outbox.held() == 0 and outbox.undeliverable() == 3
