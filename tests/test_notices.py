"""Notice validation, audience and ranking: pure rules, table-driven."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, date, datetime

import pytest

from kiosk.hall.api import load_data
from kiosk.notices import (
    _BIDI_AND_CONTROLS,
    _NOT_PLAIN,
    SHOWN_FIRST,
    InvalidNotice,
    Notice,
    for_audience,
    parse_notice,
    parse_notices,
    plain_text,
    ranked,
    region_covers,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def raw(**changes: object) -> dict:
    notice = {
        "id": "n1", "version": 1, "category": "policy_update", "priority": "normal", "title": "标题", "body": "正文",
        "valid_from": "2026-11-01T00:00:00+08:00", "valid_until": "2026-12-31T23:59:59+08:00",
    }  # fmt: skip
    notice.update(changes)
    return {k: v for k, v in notice.items() if v is not None}


def notice(**changes: object) -> Notice:
    personal = bool(changes.pop("personal", False))
    return parse_notice(raw(**changes), personal=personal)


def test_the_sample_data_set_is_valid_and_covers_every_category_and_priority() -> None:
    broadcast, personal = load_data()
    everything = broadcast + [n for items in personal.values() for n in items]
    parsed, skipped = parse_notices(everything)
    assert skipped == []
    assert {n.category for n, _ in parsed} >= {"pension_adjustment", "certification_due", "contribution_reminder",
                                               "card_renewal", "reimbursement", "policy_update", "case_progress",
                                               "hall_announcement"}  # fmt: skip
    assert {n.priority for n, _ in parsed} == {"urgent", "high", "normal", "low"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": None}, "id"),
        ({"id": "x" * 65}, "id"),
        ({"version": 0}, "version"),
        ({"version": "1"}, "version"),
        ({"category": "lottery"}, "category"),
        ({"priority": "critical"}, "priority"),
        ({"title": "长" * 61}, "title"),
        ({"title": "   "}, "title"),
        ({"body": "字" * 2001}, "body"),
        ({"speak": "说" * 301}, "speak"),
        ({"valid_from": "2026-11-01T00:00:00"}, "valid_from"),
        ({"valid_until": "tomorrow"}, "valid_until"),
        ({"valid_until": "2026-10-01T00:00:00+08:00"}, "valid_until"),
        ({"deadline": "2026-13-01"}, "deadline"),
        ({"action_url": "http://si.example.cn/x"}, "action_url"),
        ({"action_url": "javascript:alert(1)"}, "action_url"),
        ({"action_url": "https://si.example.cn/" + "a" * 180}, "action_url"),
        ({"action_url": "https://si.example.cn/" + "办" * 60}, "action_url"),  # 82 characters, 202 bytes
        ({"audience": {"min_age": -1}}, "audience.min_age"),
        ({"audience": {"max_age": True}}, "audience.max_age"),
        ({"audience": {"regions": ["1100"]}}, "audience.regions"),
        ({"audience": "everyone"}, "audience"),
        ({"bring": "身份证"}, "bring"),
        ({"bring": ["身份证"] * 9}, "bring"),
        ({"bring": ["身份证", 3]}, "bring"),
        ({"bring": ["带" * 31]}, "bring"),
        ({"bring": [" \u202e "]}, "bring"),
    ],
)
def test_each_broken_field_is_named(changes: dict, field: str) -> None:
    with pytest.raises(InvalidNotice, match=f"^{field}:"):
        notice(**changes)


def test_what_to_bring_is_kept_one_line_each_and_plain() -> None:
    assert notice().bring == ()
    assert notice(bring=["身份证", "社保卡\n原件", "\u202e户口本"]).bring == ("身份证", "社保卡 原件", "户口本")


def test_unknown_fields_are_ignored() -> None:
    assert notice(colour="red").id == "n1"


def test_an_invalid_notice_is_skipped_by_id_never_the_batch() -> None:
    parsed, skipped = parse_notices([raw(id="good"), raw(id="bad", priority="?"), "not an object", raw(id="also")])
    assert [n.id for n, _ in parsed] == ["good", "also"]
    assert skipped == ["'bad': priority: unknown", "'#2': not an object"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<b>加粗</b><script>alert(1)</script>", "<b>加粗</b><script>alert(1)</script>"),  # shown as written
        ("第一行\r\n第二行", "第一行\n第二行"),
        ("a\x00b\x07c\x1bd", "abcd"),
        ("\u202e反转\u202c文字\u2066", "反转文字"),
        ("e" + "\u0301" * 10_000, "e\u0301\u0301"),
    ],
)
def test_text_is_kept_plain(text: str, shown: str) -> None:
    assert plain_text(text) == shown


def test_the_text_left_as_it_is_holds_no_mark_control_or_direction_override() -> None:
    """A mark or control the fast path let through would show: every character it passes over is looked at."""
    passed = [chr(c) for c in range(sys.maxunicode + 1) if not _NOT_PLAIN.match(chr(c))]
    assert not [hex(ord(ch)) for ch in passed if unicodedata.category(ch)[0] == "M" or ch == "\r"]
    assert not [hex(ord(ch)) for ch in passed if _BIDI_AND_CONTROLS.match(ch)]
    assert plain_text("……。）：“" + "e" + "\u0301" * 50 + "。") == "……。）：“e\u0301\u0301。"


@pytest.mark.parametrize(
    ("code", "region", "covers"),
    [
        ("110000", "110105", True),  # a province covers its districts
        ("110000", "120105", False),
        ("110100", "110105", True),  # a city covers its districts
        ("110100", "110200", False),
        ("650102", "650102", True),  # a district only itself
        ("650102", "650103", False),
        ("120000", "121000", True),
    ],
)
def test_region_codes_cover_their_own_level_and_below(code: str, region: str, covers: bool) -> None:
    assert region_covers(code, region) is covers


@pytest.mark.parametrize(
    ("audience", "age", "region", "shown"),
    [
        (None, None, None, True),
        ({"min_age": 60}, 78, "110000", True),
        ({"min_age": 60}, 59, "110000", False),
        ({"min_age": 60}, None, None, False),  # no card in the reader: only notices for everyone
        ({"max_age": 59}, 78, "110000", False),
        ({"regions": ["110000"]}, 78, "110000", True),
        ({"regions": ["650000"]}, 78, "110000", False),
        ({"regions": ["650000", "110000"], "min_age": 70}, 78, "110105", True),
    ],
)
def test_audience(audience: dict | None, age: int | None, region: str | None, shown: bool) -> None:
    assert for_audience(notice(audience=audience), age, region) is shown


def test_ranking_urgent_then_deadline_then_priority_then_newest() -> None:
    notices = [
        notice(id="low-new", priority="low", valid_from="2026-11-20T00:00:00+08:00"),
        notice(id="normal-old", priority="normal", valid_from="2026-11-01T00:00:00+08:00"),
        notice(id="normal-new", priority="normal", valid_from="2026-11-10T00:00:00+08:00"),
        notice(id="high-deadline-late", priority="high", deadline="2026-12-30"),
        notice(id="low-deadline-soon", priority="low", deadline="2026-12-01"),
        notice(id="urgent-late", priority="urgent", deadline="2026-12-20"),
        notice(id="urgent-soon", priority="urgent", deadline="2026-12-05", personal=True),
    ]
    assert [n.id for n in ranked(notices, NOW)] == [
        "urgent-soon", "urgent-late", "low-deadline-soon", "high-deadline-late", "normal-new", "normal-old", "low-new",
    ]  # fmt: skip


def test_ranking_filters() -> None:
    notices = [
        notice(id="expired", valid_until="2026-11-25T23:59:59+08:00"),
        notice(id="not-yet", valid_from="2026-11-27T00:00:00+08:00"),
        notice(id="muted", category="policy_update"),
        notice(id="muted-but-urgent", category="policy_update", priority="urgent"),
        notice(id="snoozed", category="reimbursement"),
        notice(id="for-the-young", category="reimbursement", audience={"max_age": 59}),
        notice(id="personal-has-no-audience", category="reimbursement", personal=True, audience={"max_age": 1}),
        notice(id="v1", category="case_progress", title="旧"),
        notice(id="v1", category="case_progress", version=2, title="新"),
    ]
    shown = ranked(notices, NOW, age=78, region="110000", muted={"policy_update"}, snoozed={"snoozed"})
    assert [n.id for n in shown] == ["muted-but-urgent", "personal-has-no-audience", "v1"]
    assert shown[-1].title == "新"


def test_top_five_first() -> None:
    assert SHOWN_FIRST == 5


def test_sample_personal_notices_rank_the_certification_deadline_first() -> None:
    _, personal = load_data(today=date(2026, 11, 26))
    parsed, _ = parse_notices(personal["110105194803151234"], personal=True)
    first = ranked([n for n, _ in parsed], datetime(2026, 11, 26, 12, tzinfo=UTC))[0]
    assert first.category == "certification_due" and first.priority == "urgent"
