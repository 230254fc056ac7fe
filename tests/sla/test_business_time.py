"""Business-time math against a brute-force minute-by-minute reference, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.sla.business_time import (
    WEEKDAYS,
    BusinessHours,
    CalendarError,
    add_business_minutes,
    always_open,
    build_week,
    business_minutes_between,
    is_open,
    next_business_instant,
)

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# Days around the 2026/2027 DST changes of those zones, so most examples cross one.
DST_DAYS = [
    date(2026, 3, 8),  # New York springs forward
    date(2026, 3, 29),  # Berlin springs forward
    date(2026, 4, 5),  # Lord Howe falls back half an hour
    date(2026, 10, 4),  # Lord Howe springs forward half an hour
    date(2026, 10, 25),  # Berlin falls back
    date(2026, 11, 1),  # New York falls back
    date(2027, 1, 1),
]
MINUTE = timedelta(minutes=1)


def brute_open(hours: BusinessHours, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(hours.zone))
    if hours.is_holiday(local.date()):
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in hours.week[local.weekday()])


def brute_between(hours: BusinessHours, start: datetime, end: datetime) -> int:
    count, instant = 0, start
    while instant < end:
        count += brute_open(hours, instant)
        instant += MINUTE
    return count


def brute_add(hours: BusinessHours, start: datetime, minutes: int) -> datetime:
    instant, counted = start, 0
    while True:
        if brute_open(hours, instant):
            counted += 1
            if counted == minutes:
                return instant + MINUTE
        instant += MINUTE


def brute_next(hours: BusinessHours, at: datetime) -> datetime:
    while not brute_open(hours, at):
        at += MINUTE
    return at


def _clock(quarter: int) -> str:
    return f"{quarter * 15 // 60:02d}:{quarter * 15 % 60:02d}"


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, list[list[str]]]:
    """Random weekly schedules on quarter hours; touching day ends become night shifts."""
    days: list[list[list[int]]] = []
    for _day in WEEKDAYS:
        points = sorted(draw(st.sets(st.integers(min_value=0, max_value=96), max_size=6)))
        days.append([points[i : i + 2] for i in range(0, len(points) - 1, 2)])
    if not any(days):
        days[2] = [[8, 12]]  # 02:00-03:00, the hour a spring-forward skips
    schedule: dict[str, list[list[str]]] = {}
    for index, day in enumerate(days):
        following = days[(index + 1) % 7]
        night = (
            index < 6
            and bool(day)
            and day[-1][1] == 96
            and bool(following)
            and following[0][0] == 0
        )
        if night and draw(st.booleans()) and following[0][1] < day[-1][0]:
            day[-1] = [day[-1][0], following.pop(0)[1]]
        schedule[WEEKDAYS[index]] = [[_clock(a), _clock(b)] for a, b in day]
    return schedule


@st.composite
def calendars(draw: st.DrawFn) -> BusinessHours:
    zone = draw(st.sampled_from(ZONES))
    week = build_week(draw(schedules()))
    holidays = draw(st.frozensets(st.sampled_from(DST_DAYS).flatmap(_near_day), max_size=3))
    return BusinessHours(zone=zone, week=week, holidays=holidays)


def _near_day(day: date) -> st.SearchStrategy[date]:
    return st.integers(min_value=-3, max_value=3).map(lambda offset: day + timedelta(days=offset))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    day = draw(st.sampled_from(DST_DAYS))
    minutes = draw(st.integers(min_value=-3 * 1440, max_value=2 * 1440))
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + minutes * MINUTE


PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(calendars(), instants(), st.integers(min_value=0, max_value=4 * 1440))
def test_minutes_between_match_the_reference(
    hours: BusinessHours, start: datetime, length: int
) -> None:
    end = start + length * MINUTE
    assert business_minutes_between(hours, start, end) == brute_between(hours, start, end)
    assert business_minutes_between(hours, end, start) == -brute_between(hours, start, end)


@PROPERTY_SETTINGS
@given(calendars(), instants(), st.integers(min_value=1, max_value=1500))
def test_adding_minutes_matches_the_reference(
    hours: BusinessHours, start: datetime, minutes: int
) -> None:
    due = add_business_minutes(hours, start, minutes)
    assert due == brute_add(hours, start, minutes)
    assert business_minutes_between(hours, start, due) == minutes


@PROPERTY_SETTINGS
@given(calendars(), instants())
def test_next_business_instant_matches_the_reference(hours: BusinessHours, at: datetime) -> None:
    expected = brute_next(hours, at)
    assert next_business_instant(hours, at) == expected
    assert is_open(hours, at) == (expected == at)


BERLIN_OFFICE = BusinessHours(
    zone="Europe/Berlin",
    week=build_week({day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}),
    holidays=frozenset({date(2026, 12, 24)}),
)


def test_a_target_ending_at_closing_time_is_due_at_closing_time() -> None:
    start = datetime(2026, 12, 21, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    assert add_business_minutes(BERLIN_OFFICE, start, 480) == datetime(
        2026, 12, 21, 16, 0, tzinfo=UTC
    )


def test_holidays_and_weekends_are_skipped() -> None:
    start = datetime(2026, 12, 23, 15, 0, tzinfo=UTC)  # Wednesday 16:00 in Berlin
    # One hour on Wednesday, Thursday 24th a holiday, Friday 25th open (no country set).
    assert add_business_minutes(BERLIN_OFFICE, start, 120) == datetime(
        2026, 12, 25, 9, 0, tzinfo=UTC
    )


def test_a_country_holiday_set_closes_its_days_every_year() -> None:
    hours = BusinessHours(
        zone="Europe/Berlin",
        week=BERLIN_OFFICE.week,
        holiday_country="DE",
        holiday_subdivision="BY",
    )
    for year in (2026, 2031):
        christmas = datetime(year, 12, 25, 10, 0, tzinfo=UTC)
        assert not is_open(hours, christmas)
    assert not is_open(hours, datetime(2026, 1, 6, 10, 0, tzinfo=UTC))  # Epiphany in Bavaria


def test_intervals_across_midnight_run_into_the_next_day() -> None:
    week = build_week({"fri": [["22:00", "06:00"]], "sun": [["23:00", "01:00"]]})
    assert week[4] == ((1320, 1440),)
    assert week[5] == ((0, 360),)
    assert week[6] == ((1380, 1440),)
    assert week[0] == ((0, 60),)


def test_a_fall_back_night_shift_is_an_hour_longer() -> None:
    hours = BusinessHours(zone="Europe/Berlin", week=build_week({"sat": [["22:00", "06:00"]]}))
    start = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)  # Saturday 22:00 CEST
    assert business_minutes_between(hours, start, start + timedelta(days=1)) == 9 * 60


def test_the_built_in_calendar_is_always_open() -> None:
    hours = always_open()
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert add_business_minutes(hours, start, 90) == start + timedelta(minutes=90)


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({}, "schedule"),
        ({"mon": []}, "schedule"),
        ({"mon": [["09:00", "09:00"]]}, "schedule.mon.0"),
        ({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, "schedule.mon.1"),
        ({"sun": [["22:00", "03:00"]], "mon": [["02:00", "05:00"]]}, "schedule.mon.0"),
        ({"mon": [["9:00", "12:00"]]}, "schedule.mon.0"),
        ({"mon": [["09:00", "25:00"]]}, "schedule.mon.0"),
        ({"mon": [["24:00", "02:00"]]}, "schedule.mon.0"),
        ({"funday": [["09:00", "17:00"]]}, "schedule.funday"),
    ],
)
def test_bad_schedules_are_refused_naming_the_part(
    schedule: dict[str, list[list[str]]], field: str
) -> None:
    with pytest.raises(CalendarError) as caught:
        build_week(schedule)
    assert caught.value.field == field


def test_unknown_zones_and_holiday_sets_are_refused() -> None:
    with pytest.raises(CalendarError) as caught:
        BusinessHours(zone="Mars/Olympus", week=BERLIN_OFFICE.week)
    assert caught.value.field == "timezone"
    hours = BusinessHours(zone="UTC", week=BERLIN_OFFICE.week, holiday_country="XX")
    with pytest.raises(CalendarError) as caught:
        hours.is_holiday(date(2026, 1, 1))
    assert caught.value.field == "holiday_country"
