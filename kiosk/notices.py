"""Notices: what the backend sends (validated field by field), who a broadcast notice is for, and the ranking.

Pure functions, no I/O: the same rules serve the cache, the session and the tests.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

CATEGORIES = (
    "pension_adjustment",
    "certification_due",
    "contribution_reminder",
    "card_renewal",
    "reimbursement",
    "policy_update",
    "case_progress",
    "hall_announcement",
)
PRIORITIES = ("urgent", "high", "normal", "low")  # in ranking order
SHOWN_FIRST = 5  # a session shows the top five; the rest behind "more"
LIMITS = {"id": 64, "title": 60, "body": 2000, "speak": 300}
BRING_ITEMS, BRING_CHARS = 8, 30  # what to bring to the counter: a few papers, each named in a few words
# The QR of a longer URL has modules under 4 px on the 260 px code, too fine for a phone at arm's length. Bytes, not
# characters: the code holds UTF-8, and 200 Chinese characters would make modules of 2.7 px.
QR_URL_BYTES = 200

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
NEWEST_FIRST = 10**18  # less a start in microseconds (years 1-9999 all fall within): the newest sorts first

log = logging.getLogger(__name__)


class InvalidNotice(ValueError):
    """One notice breaks the schema; the message names the field, never the text."""


@dataclass(frozen=True)
class Audience:
    min_age: int | None = None
    max_age: int | None = None
    regions: tuple[str, ...] = ()


class once:  # a decorator, named as functools' are
    """functools.cached_property without the lock Python 3.11 takes at each first get: that lock was a third of
    working out a notice's rank and span, 1.7 of 5 µs, in a first sync of 10,000. A notice is one thread's."""

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self.compute, self.name = compute, compute.__name__

    def __get__(self, notice: object, owner: type | None = None) -> Any:
        if notice is None:
            return self
        value = notice.__dict__[self.name] = self.compute(notice)  # the instance's own, found before this from now
        return value


@dataclass
class Notice:
    """One notice as validated, never changed after (not frozen: frozen's __init__ setting each field through
    object.__setattr__ was a fifth of parsing a sync of 10,000)."""

    id: str
    version: int
    category: str
    priority: str
    title: str
    body: str
    valid_from: datetime
    valid_until: datetime
    speak: str = ""
    deadline: date | None = None
    audience: Audience | None = None
    action_url: str = ""
    personal: bool = False
    bring: tuple[str, ...] = ()  # what to bring to the counter (身份证, 社保卡): on the screen and the slip

    @property
    def things_to_bring(self) -> str:
        """`bring` as one phrase (身份证、社保卡): the screen, the voice and the slip say it so."""
        return "、".join(self.bring)

    def is_current(self, now: datetime) -> bool:
        return self.valid_from <= now <= self.valid_until

    # Worked out once per notice, as the network worker writes it to the cache (10,000 in a first sync).
    @once
    def posix_span(self) -> tuple[float, float]:
        """valid_from and valid_until as POSIX times."""
        return self.valid_from.timestamp(), self.valid_until.timestamp()

    @once
    def rank(self) -> str:
        """Where the notice stands among others, most urgent first, as text that sorts so: the cache keeps it in a
        column and its index, and the window's process asks SQLite for a page of a ranked list, not Python for all.
        Fixed-width fields, in turn: urgent first (payment and certification deadlines that must not be missed),
        the sooner deadline, the priority, the newest, and the id for a stable order among equals."""
        micros = (self.valid_from - EPOCH) // MICROSECOND
        return (
            f"{int(self.priority != 'urgent')}{(self.deadline or date.max).isoformat()}"
            f"{PRIORITIES.index(self.priority)}{NEWEST_FIRST - micros:019d}{self.id}"
        )


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
_BIDI_AND_CONTROLS = re.compile(
    r"[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_LINE_BREAKS = re.compile(r"\s*[\n\u2028\u2029]\s*")
MAX_COMBINING_RUN = 2
# Characters that need nothing done: no mark (category M), control or direction override (tests/test_notices.py
# checks every one). Chinese first, as the regex tries the ranges in order: a notice of nothing else is left
# as it is after one scan, and cleaning each text step by step was a third of parsing a sync of 10,000.
PLAIN = (
    "\u4e00-\u9fff\u3000-\u3029\u3030-\u3098\u309b-\u30ff\uff00-\uffef\ufe10-\ufe1f\ufe30-\ufe6f"
    " -~\n\u00a0-\u02ff\u2010-\u2027\u2030-\u205f\u2070-\u20cf\u2100-\u2bff"
)
_NOT_PLAIN = re.compile(rf"[^{PLAIN}\w]")


def plain_text(text: str) -> str:
    """Text as the kiosk shows and speaks it: no control or direction-override characters, no towers of accents."""
    if not _NOT_PLAIN.search(text):
        return text
    text = _BIDI_AND_CONTROLS.sub("", text.replace("\r\n", "\n"))
    out: list[str] = []
    run = 0
    for ch in text:
        # By category, not combining class: Thai vowels and enclosing marks stack with class 0 too.
        run = run + 1 if unicodedata.category(ch).startswith("M") else 0
        if run <= MAX_COMBINING_RUN:
            out.append(ch)
    return "".join(out)


def one_line(text: str) -> str:
    """A title as one line: line breaks from the backend would make a notice card taller than the screen."""
    if "\n" in text or "\u2028" in text or "\u2029" in text:  # the regex alone took as long as cleaning the title
        text = _LINE_BREAKS.sub(" ", text)
    return text.strip()


def _string(obj: dict, key: str, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if type(value) is not str or (required and not value.strip()):
        raise InvalidNotice(f"{key}: not a text")
    limit = LIMITS.get(key)
    if limit is not None and len(value) > limit:
        raise InvalidNotice(f"{key}: longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidNotice(f"{key}: not valid Unicode text") from None
    return value


def _timestamp(obj: dict, key: str) -> datetime:
    value = obj.get(key)
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidNotice(f"{key}: not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise InvalidNotice(f"{key}: no UTC offset")
    return moment


def _audience(value: object) -> Audience | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidNotice("audience: not an object")
    ages = []
    for key in ("min_age", "max_age"):
        age = value.get(key)
        if age is not None and (type(age) is not int or not 0 <= age <= 150):
            raise InvalidNotice(f"audience.{key}: not an age")
        ages.append(age)
    regions = value.get("regions", [])
    if not isinstance(regions, list) or not all(isinstance(r, str) and re.fullmatch(r"\d{6}", r) for r in regions):
        raise InvalidNotice("audience.regions: not a list of 6-digit region codes")
    return Audience(ages[0], ages[1], tuple(regions))


def _bring(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > BRING_ITEMS:
        raise InvalidNotice(f"bring: not a list of at most {BRING_ITEMS} texts")
    things = []
    for thing in value:
        if type(thing) is not str or len(thing) > BRING_CHARS:
            raise InvalidNotice(f"bring: each thing a text of at most {BRING_CHARS} characters")
        cleaned = one_line(plain_text(thing))
        if not cleaned:
            raise InvalidNotice("bring: an empty thing")
        things.append(cleaned)
    return tuple(things)


def parse_notice(obj: object, personal: bool = False) -> Notice:
    """A Notice from one JSON object of API v1; unknown fields are ignored. Raises InvalidNotice, nothing else."""
    try:
        return _parse_notice(obj, personal)
    except InvalidNotice:
        raise
    except (ValueError, TypeError, OverflowError) as e:  # what no field check foresaw: still one notice, skipped
        raise InvalidNotice(f"malformed ({type(e).__name__})") from None


def _parse_notice(obj: object, personal: bool) -> Notice:
    if not isinstance(obj, dict):
        raise InvalidNotice("not an object")
    notice_id = _string(obj, "id")
    version = obj.get("version")
    if type(version) is not int or not 1 <= version < 2**63:  # SQLite's integer range
        raise InvalidNotice("version: not a positive integer")
    category, priority = obj.get("category"), obj.get("priority")
    if category not in CATEGORIES:
        raise InvalidNotice("category: unknown")
    if priority not in PRIORITIES:
        raise InvalidNotice("priority: unknown")
    deadline = None
    if obj.get("deadline") is not None:
        try:
            deadline = date.fromisoformat(obj["deadline"])
        except (TypeError, ValueError):
            raise InvalidNotice("deadline: not a date") from None
    action_url = _string(obj, "action_url", required=False)
    if action_url and (urlsplit(action_url).scheme != "https" or not urlsplit(action_url).hostname):
        raise InvalidNotice("action_url: not an https URL")
    if len(action_url.encode("utf-8")) > QR_URL_BYTES:
        raise InvalidNotice(f"action_url: longer than {QR_URL_BYTES} bytes")
    valid_from, valid_until = _timestamp(obj, "valid_from"), _timestamp(obj, "valid_until")
    if valid_until < valid_from:
        raise InvalidNotice("valid_until: before valid_from")
    title = one_line(plain_text(_string(obj, "title")))
    if not title:
        raise InvalidNotice("title: nothing left to show")
    return Notice(
        id=notice_id,
        version=version,
        category=category,
        priority=priority,
        title=title,
        body=plain_text(_string(obj, "body", required=False)),
        speak=plain_text(_string(obj, "speak", required=False)),
        valid_from=valid_from,
        valid_until=valid_until,
        deadline=deadline,
        audience=None if personal else _audience(obj.get("audience")),
        action_url=action_url,
        personal=personal,
        bring=_bring(obj.get("bring")),
    )


def parse_notices(items: object, personal: bool = False) -> tuple[list[tuple[Notice, dict]], list[str]]:
    """Every valid notice with the JSON object it came from, and a line per skipped one (its id or position, and
    why): never the batch."""
    if not isinstance(items, list):
        raise InvalidNotice("notices: not a list")
    notices, skipped = [], []
    for position, item in enumerate(items):
        try:
            notices.append((parse_notice(item, personal), item))
        except InvalidNotice as e:
            label = item.get("id") if isinstance(item, dict) else None
            label = label[:64] if isinstance(label, str) else f"#{position}"
            skipped.append(f"{label!r}: {e}")
    return notices, skipped


@dataclass(frozen=True)
class PersonalNotices:
    """What the backend has for the cardholder in the reader; lives for the session only."""

    subject: str  # opaque per-person token: the only thing about the person the outbox ever holds
    notices: list[Notice]
    muted: frozenset[str] = frozenset()  # categories the person asked not to see again
    snoozed: frozenset[str] = frozenset()  # notice ids the person asked to be reminded of later

    def __repr__(self) -> str:
        return f"PersonalNotices({len(self.notices)} notices)"


def checked_personal(answer: object) -> dict:
    """The backend's answer to POST /notices/personal with its wrong notices left out (each logged, by id);
    an answer wrong as a whole raises InvalidNotice with a sentence for the log. The network worker checks,
    the window's process builds the PersonalNotices (personal_notices)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("subject"), str) or not answer["subject"]:
        raise InvalidNotice("The backend's personal notices have no subject.")
    try:
        parsed, skipped = parse_notices(answer.get("notices"), personal=True)
    except InvalidNotice:
        raise InvalidNotice("The backend's personal notices are not a list.") from None
    for line in skipped:
        log.warning("personal notice skipped: %s", line)
    muted, snoozed = sorted(_strings(answer.get("muted"))), sorted(_strings(answer.get("snoozed")))
    return {"subject": answer["subject"], "notices": [item for _, item in parsed], "muted": muted, "snoozed": snoozed}


def personal_notices(checked: dict) -> PersonalNotices:
    """The PersonalNotices of an answer checked_personal() passed."""
    parsed, _ = parse_notices(checked["notices"], personal=True)
    return PersonalNotices(
        subject=checked["subject"],
        notices=[notice for notice, _ in parsed],
        muted=frozenset(checked["muted"]),
        snoozed=frozenset(checked["snoozed"]),
    )


def _strings(value: object) -> frozenset[str]:
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


# ---------------------------------------------------------------------------------------------
# Audience and ranking (the seeds' "precise push")
# ---------------------------------------------------------------------------------------------
def region_prefix(code: str) -> str:
    """What a region code covers, as the prefix of the codes within: 110000 (a province) → 11, 110100 (a city)
    → 1101, a district code itself. Whole two-digit levels: 120000 → 12, not 12 less its zero."""
    prefix = code.rstrip("0")
    return prefix + "0" * (len(prefix) % 2)


def region_covers(code: str, region: str) -> bool:
    """110000 covers 110105; 110100 covers 1101xx; a district code only itself."""
    return region.startswith(region_prefix(code))


def prefixes_of(region: str) -> list[str]:
    """The region prefixes that cover `region` (110105: "", 11, 1101, 110105), for the cache's query."""
    return [region[:length] for length in range(0, len(region) + 1, 2)]


def for_audience(notice: Notice, age: int | None, region: str | None) -> bool:
    """Whether a broadcast notice is meant for this cardholder (no card: only notices for everyone)."""
    audience = notice.audience
    if audience is None:
        return True
    if audience.min_age is not None and (age is None or age < audience.min_age):
        return False
    if audience.max_age is not None and (age is None or age > audience.max_age):
        return False
    return not audience.regions or (region is not None and any(region_covers(c, region) for c in audience.regions))


def rank_key(notice: Notice) -> str:
    return notice.rank


def ranked(
    notices: Iterable[Notice],
    now: datetime,
    age: int | None = None,
    region: str | None = None,
    muted: Iterable[str] = (),
    snoozed: Iterable[str] = (),
) -> list[Notice]:
    """What a citizen sees, most urgent first: current, meant for them, not muted (urgent is never muted)."""
    muted, snoozed = set(muted), set(snoozed)
    moment = now.timestamp()
    seen: dict[str, Notice] = {}
    for notice in notices:
        start, end = notice.posix_span
        if not start <= moment <= end or notice.id in snoozed:
            continue
        if notice.category in muted and notice.priority != "urgent":
            continue
        if not notice.personal and not for_audience(notice, age, region):
            continue
        kept = seen.get(notice.id)
        if kept is None or notice.version > kept.version:
            seen[notice.id] = notice
    return sorted(seen.values(), key=rank_key)
