"""Any input to the notice validator and the config loader gives a value or a clean error, never an exception."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import ConfigError, from_text
from kiosk.notices import InvalidNotice, parse_notice, parse_notices

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25,
)
NOTICE_KEYS = ["id", "version", "category", "priority", "title", "body", "speak", "valid_from", "valid_until",
               "deadline", "audience", "action_url"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(NOTICE_KEYS), JSON, max_size=12))
def test_any_notice_object_is_a_notice_or_an_invalid_notice(obj: dict) -> None:
    with contextlib.suppress(InvalidNotice):
        parse_notice(obj)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_batch_is_split_into_notices_and_skipped_lines(batch: object) -> None:
    try:
        notices, skipped = parse_notices(batch)
    except InvalidNotice:
        assert not isinstance(batch, list)
        return
    assert len(notices) + len(skipped) == len(batch)


KEYS = ["id", "data_dir", "language", "url", "ca_file", "sync_interval_s", "name_filter", "require_pin",
        "idle_warning_s", "idle_reset_s", "orientation", "text_scale", "volume", "rate", "unknown"]  # fmt: skip
VALUES = st.sampled_from(['"x"', "1", "1.5", "true", "-3", '"https://a/b"', '"http://a"', "[1, 2]", "{a = 1}",
                          '"zh_CN"', "1e400", '"\\u0000"', "300"])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["kiosk", "backend", "reader", "session", "ui", "voice", "x"]),
                          st.sampled_from(KEYS), VALUES), max_size=8),
       st.text(max_size=40))  # fmt: skip
def test_any_config_file_is_a_config_or_one_clean_sentence(entries: list[tuple[str, str, str]], noise: str) -> None:
    sections: dict[str, list[str]] = {}
    for section, key, value in entries:
        sections.setdefault(section, []).append(f"{key} = {value}")
    text = "\n".join(f"[{s}]\n" + "\n".join(dict.fromkeys(lines)) for s, lines in sections.items())
    for candidate in (text, text + "\n" + noise, noise):
        try:
            from_text(candidate)
        except ConfigError as e:
            assert str(e) and "\n" not in str(e)
