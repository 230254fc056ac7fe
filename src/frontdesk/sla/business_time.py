"""Business-time math over a calendar: pure functions, no database.

A calendar is open at an instant when the instant's local wall-clock time (in the calendar's
IANA zone) falls in one of the weekly intervals of its weekday and its local date is not a
holiday. That definition settles DST: in a spring-forward gap the skipped wall times never
occur, in a fall-back overlap the repeated wall times are open twice.

The functions walk the UTC timeline in stretches of constant UTC offset and, inside each
stretch, turn the day's wall-clock intervals into UTC intervals: interval arithmetic, no loop
over minutes. Instants are integer microseconds since the epoch inside the module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_sets

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_US = 1_000_000
_US_PER_MINUTE = 60 * _US
_US_PER_DAY = 86_400 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: Offsets are probed this far apart; no zone changes its offset twice within six hours.
_PROBE_US = 6 * 3600 * _US
#: Give up looking for open time after this long (a calendar closed by holidays for years).
_HORIZON_US = 4 * 366 * _US_PER_DAY


class CalendarError(ValueError):
    """A calendar that cannot be used; `field` names the offending part."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BusinessHours:
    """A calendar in the form the math needs.

    `week` holds, per weekday (0 = Monday), sorted disjoint `(start, end)` minutes within
    `[0, 1440]` — intervals across midnight are already split onto the next day.
    """

    zone: str
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", load_zone(self.zone))
        if len(self.week) != 7:
            raise CalendarError("a week has seven days", field="schedule")
        if not any(self.week):
            raise CalendarError("the calendar has no open time", field="schedule")

    @property
    def always_open(self) -> bool:
        full = ((0, MINUTES_PER_DAY),)
        return (
            all(day == full for day in self.week)
            and not self.holidays
            and self.holiday_country is None
        )

    def is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        if self.holiday_country is None:
            return False
        return day in country_holidays(self.holiday_country, self.holiday_subdivision, day.year)


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {name!r}", field="timezone") from exc


@lru_cache(maxsize=512)
def country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of a country (and subdivision) in one year, from `holidays`."""
    try:
        found = holiday_sets.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        known = country in holiday_sets.list_supported_countries()
        what = "holiday_subdivision" if known and subdivision else "holiday_country"
        raise CalendarError(f"unknown holiday set {country}/{subdivision}", field=what) from exc
    return frozenset(found.keys())


def parse_clock(text: str, *, field: str) -> int:
    """`HH:MM` (00:00 to 24:00) as minutes after midnight."""
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise CalendarError(f"{text!r} is not a time HH:MM", field=field)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise CalendarError(f"{text!r} is not a time of day", field=field)
    return value


def build_week(
    schedule: Mapping[str, Sequence[Sequence[str]]],
) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Validate a weekly schedule of `HH:MM` pairs and split it into per-weekday minutes.

    An interval whose end is before its start runs across midnight into the next day.
    Intervals may touch but not overlap (across midnight and the week's end included).
    """
    unknown = sorted(set(schedule) - set(WEEKDAYS))
    if unknown:
        raise CalendarError(f"unknown weekday {unknown[0]!r}", field=f"schedule.{unknown[0]}")
    spans: list[tuple[int, int, str]] = []  # minutes of the week, end may pass the week's end
    for index, name in enumerate(WEEKDAYS):
        for position, pair in enumerate(schedule.get(name, ())):
            where = f"schedule.{name}.{position}"
            if len(pair) != 2:
                raise CalendarError("an interval is [start, end]", field=where)
            start, end = (parse_clock(part, field=where) for part in pair)
            if start in (MINUTES_PER_DAY, end):
                raise CalendarError("an interval must have a start before its end", field=where)
            if end < start:
                end += MINUTES_PER_DAY
            base = index * MINUTES_PER_DAY
            spans.append((base + start, base + end, where))
    if not spans:
        raise CalendarError("the calendar has no open time", field="schedule")
    _check_overlaps(spans)
    days: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    for start, end, _where in spans:
        for piece_start, piece_end in _wrap(start, end):
            day, offset = divmod(piece_start, MINUTES_PER_DAY)
            days[day].append((offset, offset + piece_end - piece_start))
    return tuple(tuple(_merge(sorted(day))) for day in days)


def _wrap(start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split a week-minute span at day boundaries, wrapping Sunday night into Monday."""
    while start < end:
        day_end = (start // MINUTES_PER_DAY + 1) * MINUTES_PER_DAY
        piece_end = min(end, day_end)
        yield start % MINUTES_PER_WEEK, (piece_end - 1) % MINUTES_PER_WEEK + 1
        start = piece_end


def _check_overlaps(spans: list[tuple[int, int, str]]) -> None:
    pieces = sorted(
        (piece_start, piece_end, where)
        for start, end, where in spans
        for piece_start, piece_end in _wrap(start, end)
    )
    for (_s1, end1, _w1), (start2, _e2, where2) in pairwise(pieces):
        if start2 < end1:
            raise CalendarError("intervals overlap", field=where2)


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def always_open() -> BusinessHours:
    """The built-in 24/7 calendar."""
    return BusinessHours(zone="UTC", week=((((0, MINUTES_PER_DAY),),) * 7))


# --- the math -------------------------------------------------------------------------------


def to_us(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _offset_us(tz: ZoneInfo, instant_us: int) -> int:
    offset = from_us(instant_us).astimezone(tz).utcoffset()
    assert offset is not None
    return (offset.days * 86_400 + offset.seconds) * _US


def _next_change(tz: ZoneInfo, start_us: int, end_us: int, offset: int) -> int | None:
    """The first instant in `(start_us, end_us]` with another UTC offset, probing in steps."""
    probe = start_us
    while probe < end_us:
        ahead = min(probe + _PROBE_US, end_us)
        if _offset_us(tz, ahead) != offset:
            low, high = probe, ahead  # offset(low) == offset, offset(high) differs
            while high - low > _US:
                middle = (low + high) // 2
                if _offset_us(tz, middle) == offset:
                    low = middle
                else:
                    high = middle
            # Zones change offset on whole seconds: the one whole second in (low, high].
            return (low // _US + 1) * _US
        probe = ahead
    return None


@lru_cache(maxsize=256)
def _transitions(zone: str, year: int) -> tuple[int, ...]:
    """The instants in one UTC year at which the zone changes its offset (found once, kept)."""
    tz = ZoneInfo(zone)
    first = to_us(datetime(year, 1, 1, tzinfo=UTC))
    last = to_us(datetime(year + 1, 1, 1, tzinfo=UTC))
    found: list[int] = []
    current = first
    while (change := _next_change(tz, current, last, _offset_us(tz, current))) is not None:
        found.append(change)
        current = change
    return tuple(found)


def _stretches(tz: ZoneInfo, start_us: int) -> Iterator[tuple[int, int, int]]:
    """`(from, to, offset)` stretches of constant UTC offset, from `start_us` on."""
    current = start_us
    year = from_us(start_us).year
    while True:
        upcoming = [t for t in _transitions(tz.key, year) if t > current]
        for change in upcoming:
            yield current, change, _offset_us(tz, current)
            current = change
        year_end = to_us(datetime(year + 1, 1, 1, tzinfo=UTC))
        if year_end > current:
            yield current, year_end, _offset_us(tz, current)
            current = year_end
        year += 1


def open_intervals(hours: BusinessHours, start: datetime) -> Iterator[tuple[int, int]]:
    """The calendar's open UTC intervals (microseconds) from `start` on, in order."""
    start_us = to_us(start)
    if hours.always_open:
        yield start_us, start_us + _HORIZON_US
        return
    for stretch_start, stretch_end, offset in _stretches(hours.tz, start_us):
        if stretch_start - start_us > _HORIZON_US:
            raise CalendarError("the calendar has no open time ahead", field="schedule")
        wall_start, wall_end = stretch_start + offset, stretch_end + offset
        day = wall_start // _US_PER_DAY
        while day * _US_PER_DAY < wall_end:
            yield from _day_intervals(hours, day, wall_start, wall_end, offset)
            day += 1


def _day_intervals(
    hours: BusinessHours, day: int, wall_start: int, wall_end: int, offset: int
) -> Iterator[tuple[int, int]]:
    """One local day's open intervals clipped to a constant-offset stretch, in UTC."""
    local_date = date.fromordinal(_EPOCH_ORDINAL + day)
    if hours.is_holiday(local_date):
        return
    midnight = day * _US_PER_DAY
    for start_minute, end_minute in hours.week[local_date.weekday()]:
        low = max(midnight + start_minute * _US_PER_MINUTE, wall_start)
        high = min(midnight + end_minute * _US_PER_MINUTE, wall_end)
        if low < high:
            yield low - offset, high - offset


def add_business_time(hours: BusinessHours, start: datetime, amount: timedelta) -> datetime:
    """The instant at which `amount` of open time has passed since `start`.

    A zero amount gives the next business instant. The result is the end of the last open
    stretch used, so a target that ends exactly at closing time is due at closing time.
    """
    remaining = amount // timedelta(microseconds=1)
    if remaining < 0:
        raise ValueError("business time is added forward only")
    for low, high in open_intervals(hours, start):
        low = max(low, to_us(start))
        if remaining <= high - low and (remaining > 0 or low < high):
            return from_us(low + remaining)
        remaining -= high - low
    raise AssertionError("unreachable: open_intervals is endless or raises")


def add_business_minutes(hours: BusinessHours, start: datetime, minutes: float) -> datetime:
    return add_business_time(hours, start, timedelta(minutes=minutes))


def business_time_between(hours: BusinessHours, start: datetime, end: datetime) -> timedelta:
    """Open time in `[start, end)`; negative when `end` is before `start`."""
    if end < start:
        return -business_time_between(hours, end, start)
    start_us, end_us = to_us(start), to_us(end)
    total = 0
    if hours.always_open:
        return timedelta(microseconds=end_us - start_us)
    for low, high in open_intervals(hours, start):
        if low >= end_us:
            break
        total += min(high, end_us) - max(low, start_us)
    return timedelta(microseconds=total)


def business_minutes_between(hours: BusinessHours, start: datetime, end: datetime) -> float:
    return business_time_between(hours, start, end) / timedelta(minutes=1)


def next_business_instant(hours: BusinessHours, at: datetime) -> datetime:
    """`at` itself when the calendar is open then, else the next opening."""
    for low, high in open_intervals(hours, at):
        if high > max(low, to_us(at)):
            return from_us(max(low, to_us(at)))
    raise AssertionError("unreachable: open_intervals is endless or raises")


def is_open(hours: BusinessHours, at: datetime) -> bool:
    return next_business_instant(hours, at) == at
