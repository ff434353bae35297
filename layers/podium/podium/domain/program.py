"""Program definitions: the scoring algorithm a program runs, parsed from YAML or JSON and validated.

Every mistake is reported with its path (`metrics[2].points.cap: must be ≥ 0`), all at once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from podium.domain.errors import InvalidProgram, Problem
from podium.domain.text import unstorable_text

PROGRAM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
METRIC_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names used by submission rows and score forms beside metric columns, so no metric may take them.
RESERVED_KEYS = frozenset({"id", "participant", "at", "voids", "values", "token", "return_to", "reason"})
DEFAULT_BACKDATE_DAYS = 35
E = TypeVar("E", bound=StrEnum)

# Bound on any single value or weight, so sums of thousands of them stay finite and exact enough.
MAX_ABS_NUMBER = 1e12
# Limits on a program, so every standing the aggregator writes stays far under DynamoDB's 400 KB item limit
# (tests/unit/domain/test_limits.py measures the largest at these limits) and boards stay readable.
MAX_METRICS = 40
MAX_NAME_LENGTH = 120  # a program's name, a metric's label
MAX_UNIT_LENGTH = 12
MAX_TARGET_OVERRIDES = 500  # per-participant targets, in all metrics together (the document is one item)


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    ALL = "all"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """Python's weekday number: Monday is 0."""
        return list(Weekday).index(self)


class TieRule(StrEnum):
    COMPETITION = "competition"  # 1, 1, 3
    DENSE = "dense"  # 1, 1, 2
    FIRST_TO_REACH = "first_to_reach"  # equal scores: whoever reached it first ranks higher

    @property
    def description(self) -> str:
        return {
            TieRule.COMPETITION: "equal scores share a rank and the next rank is skipped (1, 1, 3)",
            TieRule.DENSE: "equal scores share a rank and no rank is skipped (1, 1, 2)",
            TieRule.FIRST_TO_REACH: "equal scores are ranked by who reached the score first",
        }[self]


class Ranking(StrEnum):
    POINTS = "points"  # highest total of points wins
    POSITION = "position"  # each metric ranks everyone; lowest sum of ranks wins


class PeriodAggregate(StrEnum):
    SUM = "sum"
    LATEST = "latest"
    MIN = "min"
    MAX = "max"
    AVERAGE = "average"
    DIFFERENCE = "difference"  # latest in the period minus latest before it
    IGNORE_PERIOD = "ignore_period"  # running total across all periods


class Order(StrEnum):
    DESC = "desc"  # higher is better
    ASC = "asc"  # lower is better


class TeamRollup(StrEnum):
    SUM = "sum"
    MEAN = "mean"


class MeanOver(StrEnum):
    HEADCOUNT = "headcount"  # every member of the group
    CONTRIBUTORS = "contributors"  # members with a value this period


class Visibility(StrEnum):
    """Who may see a program's boards and pages."""

    PUBLIC = "public"  # anyone with the link; no token
    UNLISTED = "unlisted"  # whoever has the program's public read token (it sits in the page's URL)
    PRIVATE = "private"  # API keys with the read scope only


class Method(StrEnum):
    SUM = "sum"  # points from the value: per_unit or target, then cap
    RELATIVE = "relative"  # points from the rank on this metric, scaled to 100


@dataclass(frozen=True)
class PointsRule:
    per_unit: float = 1.0
    cap: float | None = None
    target: float | None = None
    target_points: float = 100.0
    # Per-participant targets, by participant id; they replace `target` for that participant.
    target_overrides: Mapping[str, float] = field(default_factory=dict)

    def target_for(self, participant_id: str) -> float | None:
        return self.target_overrides.get(participant_id, self.target)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    period_aggregate: PeriodAggregate = PeriodAggregate.SUM
    points: PointsRule = field(default_factory=PointsRule)
    order: Order = Order.DESC
    team_rollup: TeamRollup = TeamRollup.SUM
    mean_over: MeanOver = MeanOver.HEADCOUNT
    method: Method = Method.SUM
    # What one submitted value may be: `min` defaults to 0 for metrics that count things (summed, or a running
    # total), so nobody can send `calls: -1e12`; `decimals: false` takes whole numbers only.
    minimum: float | None = None
    maximum: float | None = None
    decimals: bool = True
    unit: str = ""  # shown beside the value: "$", "min", "%"
    # Kept off public and unlisted boards (their points still count in every total); API keys still see it.
    hidden: bool = False

    def value_problem(self, value: float) -> str | None:
        """Why a submitted value is out of this metric's bounds, or None when it is within them."""
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g} (the metric's min)"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g} (the metric's max)"
        if not self.decimals and value != int(value):
            return "must be a whole number (the metric takes no decimals)"
        return None


# Metrics whose values are counts of things: negative values make no sense unless the program says so.
COUNTING = frozenset({PeriodAggregate.SUM, PeriodAggregate.IGNORE_PERIOD})


class ChannelKind(StrEnum):
    SLACK = "slack"  # an incoming webhook; its URL is the secret
    TEAMS = "teams"  # a Teams workflow's webhook; its URL is the secret
    X = "x"  # API v2; the secret is an OAuth 2.0 user access token
    LINKEDIN = "linkedin"  # the Posts API; the secret is an access token, `author` the member or organisation URN
    WEBHOOK = "webhook"  # any URL, signed per Standard Webhooks; the secret is the signing secret (whsec_…)


CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# An SSM parameter name: the secret itself never sits in the program file, the table or the repo.
SECRET_NAME = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,1000}$")
AUTHOR_URN = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
MAX_CHANNELS = 10
SCHEDULE = re.compile(r"^\s*(?P<days>[A-Za-z,]+)\s+(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)\s*$")
DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
DAY_GROUPS = {"DAILY": tuple(range(7)), "WEEKDAYS": tuple(range(5))}


@dataclass(frozen=True)
class ChannelConfig:
    """Where a program's bulletins are posted. `secret` names an SSM parameter (SecureString) holding what the
    channel's kind needs; only the publish function may read it."""

    name: str
    kind: ChannelKind
    secret: str
    url: str = ""  # webhook: the receiver's endpoint
    author: str = ""  # linkedin: urn:li:organization:… or urn:li:person:…


@dataclass(frozen=True)
class BulletinSchedule:
    """When bulletins go out, in the program's time zone: some days of the week at one local time."""

    days: frozenset[int]  # Python weekday numbers: Monday is 0
    at: time

    @property
    def text(self) -> str:
        if self.days == frozenset(range(7)):
            days = "daily"
        elif self.days == frozenset(range(5)):
            days = "weekdays"
        else:
            days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.at:%H:%M}"


@dataclass(frozen=True)
class BulletinSettings:
    """A program's bulletins: when they go out, to whom, and what counts as news."""

    schedule: BulletinSchedule | None = None  # None: only on demand (POST /v1/programs/{program}/bulletins)
    digests: bool = True  # an email to each participant who has not opted out
    channels: tuple[ChannelConfig, ...] = ()
    # With no new scores since the last final bulletin nothing is sent; `quiet_post: true` still posts that.
    quiet_post: bool = False
    # Badges: reaching one of these ranks or points totals, and improving this many bulletins in a row.
    ranks: tuple[int, ...] = (1, 3, 10)
    points: tuple[float, ...] = ()
    streak: int = 3


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    metrics: tuple[Metric, ...]
    timezone: str = "UTC"
    period: PeriodKind = PeriodKind.WEEK
    week_start: Weekday = Weekday.MONDAY
    ties: TieRule = TieRule.COMPETITION
    ranking: Ranking = Ranking.POINTS
    # How far back a submission's `at` may be, in days; older scores are refused at ingestion.
    backdate_days: int = DEFAULT_BACKDATE_DAYS
    # URL prefixes a score form may redirect to after posting (`return_to`); none means a thank-you page.
    return_to: tuple[str, ...] = ()
    # Whether people may add themselves to the roster (leadership is collective: others may join).
    open_to_join: bool = False
    visibility: Visibility = Visibility.UNLISTED
    # Origins (scheme://host[:port]) whose pages may frame the widget and read its JSON.
    allowed_origins: tuple[str, ...] = ()
    bulletins: BulletinSettings = field(default_factory=BulletinSettings)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def metric(self, key: str) -> Metric:
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(key)

    @property
    def metric_keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.metrics)


def parse_program(text: str | bytes, *, filename: str = "") -> Program:
    """Parse a program file, YAML or JSON, into a validated Program."""
    return program_from_dict(decode_program_document(text, filename=filename))


def decode_program_document(text: str | bytes, *, filename: str = "", yaml_allowed: bool = True) -> Any:
    """The data in a program file. JSON is read by the JSON parser (its errors read better); anything else as
    YAML. A key given twice is a mistake in either, not a silent override."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidProgram([Problem("", "is not UTF-8 text")]) from None
    if filename.endswith(".json") or text.lstrip().startswith(("{", "[")) or not yaml_allowed:
        try:
            return _text_only(json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant))
        except json.JSONDecodeError as e:
            raise InvalidProgram([Problem(f"line {e.lineno}", f"not valid JSON: {e.msg}")]) from None
        except ValueError as e:  # duplicate keys, NaN, or an integer with thousands of digits
            raise InvalidProgram([Problem("", f"not valid JSON: {e}")]) from None
    import yaml  # lazy: only program uploads and the command line read YAML

    try:
        return _text_only(yaml.load(text, Loader=_unique_key_loader()))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        reason = getattr(e, "problem", None) or str(e)
        raise InvalidProgram([Problem(where, f"not valid YAML: {reason}")]) from None


def _text_only(document: Any) -> Any:
    if unstorable_text(document):
        raise InvalidProgram([Problem("", "holds a lone UTF-16 surrogate (such as \\ud800): not text")])
    return document


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unique_key_loader() -> Any:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """A program is JSON-shaped: keys are text as written (`2026-01-01:` and `123:` too), no timestamps, and
        no aliases (`*name`: one can make a document refer to itself, or grow exponentially)."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.events.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key_node, yaml.ScalarNode) and not isinstance(key, str):
                    key = key_node.value
                if key in mapping:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                    )
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        None, None, "a key must be text, not a list or mapping", key_node.start_mark
                    )
                mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

    UniqueKeyLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return UniqueKeyLoader


def program_from_dict(data: Any) -> Program:
    """Validate a decoded program document and build the Program, or raise InvalidProgram with every problem."""
    r = _Reader()
    if not isinstance(data, Mapping):
        raise InvalidProgram([Problem("", "must be a mapping of fields (id, name, metrics, …)")])
    r.no_unknown(
        data,
        "",
        {
            "id",
            "name",
            "description",
            "timezone",
            "period",
            "week_start",
            "ties",
            "ranking",
            "metrics",
            "backdate_days",
            "return_to",
            "open_to_join",
            "visibility",
            "allowed_origins",
            "bulletins",
        },
    )
    pid = r.string(data, "id", "", required=True, pattern=PROGRAM_ID, pattern_hint="lowercase letters, digits and -")
    name = r.string(data, "name", "", default=pid or "")
    if name is not None and len(name) > MAX_NAME_LENGTH:
        r.problem("name", f"is longer than {MAX_NAME_LENGTH} characters")
    timezone = r.string(data, "timezone", "", default="UTC")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, such as "America"
            r.problem("timezone", f"unknown time zone {timezone!r} (use an IANA name such as Europe/London)")
    period = r.choice(data, "period", "", PeriodKind, PeriodKind.WEEK)
    week_start = r.choice(data, "week_start", "", Weekday, Weekday.MONDAY)
    ties = r.choice(data, "ties", "", TieRule, TieRule.COMPETITION)
    ranking = r.choice(data, "ranking", "", Ranking, Ranking.POINTS)
    backdate = r.number(data, "backdate_days", "", default=DEFAULT_BACKDATE_DAYS, minimum=0.0)
    if backdate is not None and (backdate != int(backdate) or backdate > 3660):
        r.problem("backdate_days", "must be a whole number of days from 0 to 3660")
        backdate = DEFAULT_BACKDATE_DAYS
    return_to = _url_prefixes(r, data.get("return_to"))
    visibility = r.choice(data, "visibility", "", Visibility, Visibility.UNLISTED)
    allowed_origins = _origins(r, data.get("allowed_origins"))
    bulletins = _bulletins(r, data.get("bulletins"), timezone or "UTC")
    open_to_join = data.get("open_to_join", False)
    if not isinstance(open_to_join, bool):
        r.problem("open_to_join", "must be true or false")
        open_to_join = False

    metrics: list[Metric] = []
    raw_metrics = data.get("metrics")
    if raw_metrics is None:
        r.problem("metrics", "is required: a list of at least one metric")
    elif not isinstance(raw_metrics, list) or not raw_metrics:
        r.problem("metrics", "must be a list of at least one metric")
    elif len(raw_metrics) > MAX_METRICS:
        r.problem("metrics", f"has {len(raw_metrics)} metrics: a program may have at most {MAX_METRICS}")
    else:
        seen: set[str] = set()
        for i, raw in enumerate(raw_metrics):
            metric = _metric(r, raw, f"metrics[{i}]")
            if metric is None:
                continue
            if metric.key in seen:
                r.problem(f"metrics[{i}].key", f"duplicate metric key {metric.key!r}")
            seen.add(metric.key)
            metrics.append(metric)
        overrides = sum(len(m.points.target_overrides) for m in metrics)
        if overrides > MAX_TARGET_OVERRIDES:
            r.problem("metrics", f"has {overrides} target_overrides: at most {MAX_TARGET_OVERRIDES} in all")

    if r.problems:
        raise InvalidProgram(r.problems)
    return Program(
        id=pid or "",
        name=name or "",
        metrics=tuple(metrics),
        timezone=timezone or "UTC",
        period=period,
        week_start=week_start,
        ties=ties,
        ranking=ranking,
        backdate_days=int(backdate if backdate is not None else DEFAULT_BACKDATE_DAYS),
        return_to=return_to,
        open_to_join=open_to_join,
        visibility=visibility,
        allowed_origins=allowed_origins,
        bulletins=bulletins,
    )


def _url_prefixes(r: _Reader, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        r.problem("return_to", "must be a list of URL prefixes such as https://intranet.example.com/")
        return ()
    for i, url in enumerate(raw):
        if not re.match(r"^https?://[^/\s]+/", url):
            r.problem(f"return_to[{i}]", f"{url!r} must start with http:// or https://, a host name and a /")
    return tuple(raw)


ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
MAX_ORIGINS = 20


def _origins(r: _Reader, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        r.problem("allowed_origins", "must be a list of origins such as https://intranet.example.com")
        return ()
    if len(raw) > MAX_ORIGINS:
        r.problem("allowed_origins", f"has {len(raw)} origins: at most {MAX_ORIGINS}")
        return ()
    for i, origin in enumerate(raw):
        if not ORIGIN.match(origin):
            r.problem(
                f"allowed_origins[{i}]",
                f"{origin!r} must be scheme://host[:port] in lowercase, with no path (https://intranet.example.com)",
            )
    return tuple(raw)


def _bulletins(r: _Reader, raw: Any, timezone: str) -> BulletinSettings:
    if raw is None:
        return BulletinSettings()
    path = "bulletins"
    if not isinstance(raw, Mapping):
        r.problem(path, "must be a mapping (schedule, digests, channels, quiet_post, ranks, points, streak)")
        return BulletinSettings()
    r.no_unknown(raw, path, {"schedule", "digests", "channels", "quiet_post", "ranks", "points", "streak"})
    schedule = None
    if raw.get("schedule") is not None:
        schedule = parse_schedule(raw["schedule"])
        if schedule is None:
            r.problem(
                "bulletins.schedule",
                f'{raw["schedule"]!r} is not a schedule: days and a local time such as "MON 08:00", '
                f'"MON,THU 17:30", "weekdays 09:00" or "daily 18:00" (in the program\'s time zone, {timezone})',
            )
    flags = {}
    for name, default in (("digests", True), ("quiet_post", False)):
        flags[name] = raw.get(name, default)
        if not isinstance(flags[name], bool):
            r.problem(f"bulletins.{name}", "must be true or false")
            flags[name] = default
    ranks = _whole_numbers(r, raw.get("ranks"), "bulletins.ranks", (1, 3, 10))
    points = _thresholds(r, raw.get("points"), "bulletins.points")
    streak = raw.get("streak", 3)
    if isinstance(streak, bool) or not isinstance(streak, int) or not 2 <= streak <= 52:
        r.problem("bulletins.streak", "must be a whole number of bulletins from 2 to 52")
        streak = 3
    return BulletinSettings(
        schedule=schedule,
        digests=flags["digests"],
        channels=_channels(r, raw.get("channels")),
        quiet_post=flags["quiet_post"],
        ranks=ranks,
        points=points,
        streak=streak,
    )


def parse_schedule(text: Any) -> BulletinSchedule | None:
    """`MON 08:00`, `MON,THU 17:30`, `weekdays 09:00`, `daily 18:00`; None if it is none of those."""
    match = SCHEDULE.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    days: set[int] = set()
    for name in match["days"].upper().split(","):
        if name in DAY_GROUPS:
            days.update(DAY_GROUPS[name])
        elif (
            len(name) >= 3
            and (day := next((d for d, full in enumerate(_FULL_DAYS) if full.startswith(name)), None)) is not None
        ):
            days.add(day)
        else:
            return None
    return BulletinSchedule(frozenset(days), time(int(match["hour"]), int(match["minute"])))


_FULL_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def _whole_numbers(r: _Reader, raw: Any, path: str, default: tuple[int, ...]) -> tuple[int, ...]:
    if raw is None:
        return default
    if not isinstance(raw, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in raw):
        r.problem(path, "must be a list of whole numbers from 1, such as [1, 3, 10]")
        return default
    return tuple(sorted(set(raw)))


def _thresholds(r: _Reader, raw: Any, path: str) -> tuple[float, ...]:
    if raw is None:
        return ()
    ok = isinstance(raw, list) and all(
        isinstance(n, int | float) and not isinstance(n, bool) and 0 < n <= MAX_ABS_NUMBER for n in raw
    )
    if not ok or len(raw) > 20:
        r.problem(path, "must be a list of at most 20 positive numbers, such as [500, 1000]")
        return ()
    return tuple(sorted({float(n) for n in raw}))


def _channels(r: _Reader, raw: Any) -> tuple[ChannelConfig, ...]:
    if raw is None:
        return ()
    path = "bulletins.channels"
    if not isinstance(raw, list):
        r.problem(path, "must be a list of channels (name, kind, secret)")
        return ()
    if len(raw) > MAX_CHANNELS:
        r.problem(path, f"has {len(raw)} channels: at most {MAX_CHANNELS}")
        return ()
    channels: list[ChannelConfig] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            r.problem(where, "must be a mapping (name, kind, secret)")
            continue
        r.no_unknown(item, where, {"name", "kind", "secret", "url", "author"})
        name = r.string(item, "name", where, required=True, pattern=CHANNEL_NAME, pattern_hint="a-z, 0-9 and -")
        kind = r.choice(item, "kind", where, ChannelKind, ChannelKind.WEBHOOK)
        if "kind" not in item:
            r.problem(_join(where, "kind"), f"is required: one of {', '.join(k.value for k in ChannelKind)}")
        secret = r.string(
            item, "secret", where, required=True, pattern=SECRET_NAME, pattern_hint="an SSM parameter name"
        )
        url = r.string(item, "url", where, default="") or ""
        author = r.string(item, "author", where, default="") or ""
        if kind is ChannelKind.WEBHOOK and not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
            r.problem(_join(where, "url"), "is required for a webhook: the receiver's http(s) URL")
        elif kind is not ChannelKind.WEBHOOK and url:
            r.problem(_join(where, "url"), f"only webhooks take a url; a {kind.value} channel's is its secret")
        if kind is ChannelKind.LINKEDIN and not AUTHOR_URN.match(author):
            r.problem(_join(where, "author"), "is required for LinkedIn: urn:li:organization:… or urn:li:person:…")
        elif kind is not ChannelKind.LINKEDIN and author:
            r.problem(_join(where, "author"), "only LinkedIn channels take an author")
        if name is not None and any(c.name == name for c in channels):
            r.problem(_join(where, "name"), f"another channel is named {name!r}")
        elif name is not None and secret is not None:
            channels.append(ChannelConfig(name, kind, secret, url, author))
    return tuple(channels)


def _metric(r: _Reader, raw: Any, path: str) -> Metric | None:
    if not isinstance(raw, Mapping):
        r.problem(path, "must be a mapping with at least a key")
        return None
    r.no_unknown(
        raw,
        path,
        {
            "key",
            "label",
            "period_aggregate",
            "points",
            "order",
            "team_rollup",
            "mean_over",
            "method",
            "unit",
            "min",
            "max",
            "decimals",
            "hidden",
        },
    )
    key = r.string(
        raw, "key", path, required=True, pattern=METRIC_KEY, pattern_hint="a lowercase letter, then a-z, 0-9 or _"
    )
    if key in RESERVED_KEYS:
        r.problem(_join(path, "key"), f"{key!r} is reserved for submission fields; choose another key")
    label = r.string(raw, "label", path, default=key or "")
    if label is not None and len(label) > MAX_NAME_LENGTH:
        r.problem(_join(path, "label"), f"is longer than {MAX_NAME_LENGTH} characters")
    aggregate = r.choice(raw, "period_aggregate", path, PeriodAggregate, PeriodAggregate.SUM)
    order = r.choice(raw, "order", path, Order, Order.DESC)
    rollup = r.choice(raw, "team_rollup", path, TeamRollup, TeamRollup.SUM)
    mean_over = r.choice(raw, "mean_over", path, MeanOver, MeanOver.HEADCOUNT)
    method = r.choice(raw, "method", path, Method, Method.SUM)
    if "mean_over" in raw and rollup is not TeamRollup.MEAN:
        r.problem(_join(path, "mean_over"), "only applies when team_rollup is mean")
    points = _points(r, raw.get("points"), _join(path, "points"), method)
    minimum = r.number(raw, "min", path, default=0.0 if aggregate in COUNTING else None)
    maximum = r.number(raw, "max", path)
    if minimum is not None and maximum is not None and minimum > maximum:
        r.problem(_join(path, "max"), f"must not be less than min ({minimum:g})")
    decimals = raw.get("decimals", True)
    if not isinstance(decimals, bool):
        r.problem(_join(path, "decimals"), "must be true or false")
        decimals = True
    hidden = raw.get("hidden", False)
    if not isinstance(hidden, bool):
        r.problem(_join(path, "hidden"), "must be true or false")
        hidden = False
    unit = r.string(raw, "unit", path, default="")
    if unit is not None and len(unit) > MAX_UNIT_LENGTH:
        r.problem(_join(path, "unit"), f"is longer than {MAX_UNIT_LENGTH} characters")
    if key is None:
        return None
    return Metric(
        key=key,
        label=label or key,
        period_aggregate=aggregate,
        points=points,
        order=order,
        team_rollup=rollup,
        mean_over=mean_over,
        method=method,
        minimum=minimum,
        maximum=maximum,
        decimals=decimals,
        unit=unit or "",
        hidden=hidden,
    )


def _points(r: _Reader, raw: Any, path: str, method: Method) -> PointsRule:
    if raw is None:
        return PointsRule()
    if not isinstance(raw, Mapping):
        r.problem(path, "must be a mapping (per_unit, cap, target, target_points, target_overrides)")
        return PointsRule()
    r.no_unknown(raw, path, {"per_unit", "cap", "target", "target_points", "target_overrides"})
    per_unit = r.number(raw, "per_unit", path, default=1.0)
    cap = r.number(raw, "cap", path, minimum=0.0)
    target = r.number(raw, "target", path, minimum=0.0, exclusive_minimum=True)
    target_points = r.number(raw, "target_points", path, default=100.0, minimum=0.0)
    overrides: dict[str, float] = {}
    raw_overrides = raw.get("target_overrides")
    if raw_overrides is not None:
        opath = _join(path, "target_overrides")
        if not isinstance(raw_overrides, Mapping):
            r.problem(opath, "must map participant ids to targets")
        else:
            for pid in raw_overrides:
                t = r.number(raw_overrides, pid, opath, minimum=0.0, exclusive_minimum=True)
                if t is not None:
                    overrides[str(pid)] = t
    if target is not None and "per_unit" in raw:
        r.problem(_join(path, "per_unit"), "use either per_unit or target, not both")
    if target is None and "target_points" in raw:
        r.problem(_join(path, "target_points"), "needs a target")
    if target is None and overrides:
        r.problem(_join(path, "target_overrides"), "needs a target for everyone else")
    if method is Method.RELATIVE and target is not None:
        r.problem(_join(path, "target"), "relative metrics get points from rank, not from a target")
    return PointsRule(
        per_unit=per_unit if per_unit is not None else 1.0,
        cap=cap,
        target=target,
        target_points=target_points if target_points is not None else 100.0,
        target_overrides=overrides,
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Reader:
    """Reads fields out of a mapping, collecting problems instead of raising at the first one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def no_unknown(self, data: Mapping[Any, Any], path: str, known: set[str]) -> None:
        for name in data:
            if name not in known:
                self.problem(_join(path, str(name)), f"unknown field (known: {', '.join(sorted(known))})")

    def string(
        self,
        data: Mapping[Any, Any],
        name: str,
        path: str,
        *,
        required: bool = False,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str | None:
        where = _join(path, name)
        if name not in data or data[name] is None:
            if required:
                self.problem(where, "is required")
            return default
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problem(where, "must be text")
            return default
        text = str(value).strip()
        if not text:
            self.problem(where, "must not be empty")
            return default
        if pattern is not None and not pattern.match(text):
            self.problem(where, f"{text!r} is not allowed: use {pattern_hint}")
            return default
        return text

    def number(
        self,
        data: Mapping[Any, Any],
        name: str,
        path: str,
        *,
        default: float | None = None,
        minimum: float | None = None,
        exclusive_minimum: bool = False,
    ) -> float | None:
        where = _join(path, str(name))
        if name not in data or data[name] is None:
            return default
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, f"must be a number, not {type(value).__name__}")
            return default
        number = math.inf if isinstance(value, int) and abs(value) > MAX_ABS_NUMBER else float(value)
        if not math.isfinite(number) or abs(number) > MAX_ABS_NUMBER:
            self.problem(where, f"must be a finite number between -{MAX_ABS_NUMBER:g} and {MAX_ABS_NUMBER:g}")
            return default
        if minimum is not None:
            if exclusive_minimum and number <= minimum:
                self.problem(where, f"must be > {minimum:g}")
                return default
            if number < minimum:
                self.problem(where, f"must be ≥ {minimum:g}")
                return default
        return number

    def choice(self, data: Mapping[Any, Any], name: str, path: str, kind: type[E], default: E) -> E:
        where = _join(path, name)
        if name not in data or data[name] is None:
            return default
        value = data[name]
        try:
            return kind(str(value).strip().lower()) if isinstance(value, str) else kind(value)
        except ValueError:
            choices = ", ".join(k.value for k in kind)
            self.problem(where, f"{value!r} is not one of: {choices}")
            return default
