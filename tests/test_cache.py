"""The broadcast cache as the window asks it: SQLite's page of a ranked list is kiosk.notices.ranked's, exactly."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.cache import V3_COLUMNS, BroadcastCache, CachedNotices, cache_of
from kiosk.hall.api import load_data
from kiosk.notices import CATEGORIES, PRIORITIES, Audience, Notice, parse_notices, ranked

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
ZONES = (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)))
REGIONS = ("000000", "110000", "110100", "110105", "120000", "120101", "440300", "440305")
PEOPLE = (
    dict(),  # no card: the attract screen's headlines
    dict(age=78, region="110105"),
    dict(age=45, region="120101", muted={"policy_update", "hall_announcement"}),
    dict(age=62, region="440305", muted={"pension_adjustment"}, left_out={"n-0003", "n-0007", "n-0100"}),
    dict(age=90, region="990000"),
    dict(age=0, region="11010"),  # an odd region, as a strange card might give
)


def made_up(count: int, seed: int) -> list[tuple[Notice, dict]]:
    """Notices of every kind the rules tell apart: urgent or not, a deadline or none, current, over or to come,
    times in three offsets, ages and regions at every level, and equal ranks but for the id."""
    pick = random.Random(seed)
    out = []
    for n in range(count):
        zone = pick.choice(ZONES)
        start = NOW + timedelta(days=pick.choice((-400, -30, -1, 0, 2)), minutes=pick.randrange(-90, 90))
        start = start.astimezone(zone).replace(microsecond=pick.choice((0, 1, 999_999)))
        end = start + timedelta(days=pick.choice((0, 1, 60, 10_000)))
        deadline = pick.choice((None, None, date(2026, 12, 1), date(2027, 1, 31), date(1999, 1, 1)))
        audience = pick.choice((
            None, None, Audience(), Audience(min_age=60), Audience(max_age=59), Audience(min_age=60, max_age=80),
            Audience(regions=(pick.choice(REGIONS),)), Audience(min_age=70, regions=tuple(pick.sample(REGIONS, 2))),
        ))  # fmt: skip
        notice = Notice(
            id=f"n-{n:04d}", version=1, category=pick.choice(CATEGORIES), priority=pick.choice(PRIORITIES),
            title=f"通知 {n}", body="", valid_from=start if n % 7 else NOW, valid_until=end, deadline=deadline,
            audience=audience,
        )  # fmt: skip
        out.append((notice, {"valid_from": notice.valid_from.isoformat(), "valid_until": end.isoformat()}))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_cache_ranks_and_counts_as_the_rules_do_for_everyone_and_for_each_cardholder(
    tmp_path: Path, seed: int
) -> None:
    notices = made_up(600, seed)
    cache = cache_of(tmp_path / "broadcast.sqlite3", notices)
    every = [notice for notice, _ in notices]
    for person in PEOPLE:
        rules = ranked(every, NOW, person.get("age"), person.get("region"), person.get("muted", ()),
                       person.get("left_out", ()))  # fmt: skip
        assert len(rules) > 20, "a person the made-up notices leave too few for to tell anything"
        for limit in (5, 100, None):
            asked = [n.id for n in cache.ranked(NOW.timestamp(), limit, **person)]
            assert asked == [n.id for n in rules][:limit], (person, limit)
        assert cache.count(NOW.timestamp(), **person) == len(rules), person


def test_the_rank_as_text_sorts_as_urgency_deadline_priority_and_newest_do() -> None:
    every = [notice for notice, _ in made_up(2_000, 4)]

    def spelled_out(notice: Notice) -> tuple:
        return (notice.priority != "urgent", notice.deadline or date.max, PRIORITIES.index(notice.priority),
                -notice.valid_from.timestamp(), notice.id)  # fmt: skip

    assert [n.id for n in sorted(every, key=lambda n: n.rank)] == [n.id for n in sorted(every, key=spelled_out)]
    far = [Notice("a", 1, "policy_update", "low", "t", "", datetime(1, 1, 2, tzinfo=UTC), NOW),
           Notice("b", 1, "policy_update", "low", "t", "", datetime(9999, 12, 30, tzinfo=UTC), NOW)]  # fmt: skip
    assert sorted(far, key=lambda n: n.rank)[0].id == "b", "years 1 and 9999 keep to the width"


def test_a_cache_of_the_last_version_keeps_its_notices_and_cursor_and_ranks_them(tmp_path: Path) -> None:
    """An offline hall's kiosk, updated from a stick, still shows what it had before the hall server answers."""
    broadcast, _ = load_data(today=NOW.date())
    parsed = parse_notices(broadcast)[0]
    path = tmp_path / "broadcast.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE notice (id TEXT PRIMARY KEY, version INTEGER NOT NULL, category TEXT NOT NULL,"
        " priority TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, speak TEXT NOT NULL,"
        " valid_from TEXT NOT NULL, valid_until TEXT NOT NULL, deadline TEXT, min_age INTEGER, max_age INTEGER,"
        " regions TEXT, action_url TEXT NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('cursor', 'c.16'), ('etag', 'e');"
        "PRAGMA user_version = 2;"
    )
    for notice, sent in parsed:
        audience = notice.audience
        old.execute(f"INSERT INTO notice ({V3_COLUMNS}) VALUES ({', '.join('?' * 14)})", (
            notice.id, notice.version, notice.category, notice.priority, notice.title, notice.body, notice.speak,
            sent["valid_from"], sent["valid_until"], sent.get("deadline"),
            *((audience.min_age, audience.max_age, ",".join(audience.regions)) if audience else (None, None, None)),
            notice.action_url,
        ))  # fmt: skip
    old.execute("INSERT INTO notice (id, version, category, priority, title, body, speak, valid_from, valid_until,"
                " action_url) VALUES ('damaged', 1, 'x', 'low', 't', '', '', 'yesterday', 'never', '')")  # fmt: skip
    old.commit()
    old.close()
    cache = BroadcastCache(path)
    assert not cache.rebuilt and cache.count() == len(parsed)
    assert cache.reloading and cache.cursor is None, "every notice asked for again: `bring` was not kept"
    cache.close()
    shown = CachedNotices(path).ranked(NOW.timestamp(), None, age=78, region="110105")
    assert [n.id for n in shown] == [n.id for n in ranked([n for n, _ in parsed], NOW, 78, "110105")]
    assert shown, "the sample has notices for 王明"


def test_a_cache_of_version_3_keeps_its_notices_and_takes_bring_from_the_reload(tmp_path: Path) -> None:
    broadcast, _ = load_data(today=NOW.date())
    parsed = parse_notices(broadcast)[0]
    path = tmp_path / "broadcast.sqlite3"
    cache_of(path, parsed)
    old = sqlite3.connect(path)
    old.executescript("ALTER TABLE notice DROP COLUMN bring; PRAGMA user_version = 3;")  # as a kiosk of 0.3 left it
    old.close()
    cache = BroadcastCache(path)
    assert not cache.rebuilt and cache.count() == len(parsed) and cache.reloading
    first, sent = parsed[0]
    again = replace(first, bring=("身份证", "社保卡"))  # the same version, which the old kiosk kept without it
    assert cache.apply_page([(again, sent)], [], "c.1") == (0, 0, 0), "the same version: neither new nor updated"
    assert next(n for n in cache.notices() if n.id == first.id).bring == ("身份证", "社保卡")
    cache.finish_reload()
    assert cache.apply_page([(first, sent)], [], "c.2") == (0, 0, 0)
    assert next(n for n in cache.notices() if n.id == first.id).bring == ("身份证", "社保卡"), "written over once"
    cache.close()


def test_a_cache_the_window_cannot_read_shows_nothing_and_reads_again_when_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "broadcast.sqlite3"
    window = CachedNotices(path)
    assert window.ranked(NOW.timestamp(), 5) == [] and window.count(NOW.timestamp()) == 0  # not made yet
    path.write_bytes(b"not a database" * 100)
    assert window.ranked(NOW.timestamp(), 5) == [] and window.last_sync is None
    path.unlink()
    cache_of(path, made_up(50, 5))
    window.reopen()
    assert window.ranked(NOW.timestamp(), 5) and window.last_sync
