"""Maintenance windows: parsed as people write them, open in the client's own wall-clock
time (across midnight and daylight-saving changes), and when they open next."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from sitekeeper.domain.update_windows import parse_window
from sitekeeper.errors import UsageError
from sitekeeper.timezones import zone

BERLIN = zone("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2026 in Berlin: the 7th is a Monday."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)


def test_weekday_ranges_lists_and_daily_parse() -> None:
    assert parse_window("Mon-Fri 22:00-06:00").days == frozenset(range(5))
    assert parse_window("sat, sun 2:00-5:00").days == frozenset({5, 6})
    assert parse_window("Fri-Mon 01:00-02:00").days == frozenset({4, 5, 6, 0})
    assert parse_window("daily 03:00-04:30").end == time(4, 30)
    for bad in ("Mon 25:00-26:00", "Someday 01:00-02:00", "Mon 01:00-01:00", "Mon", "01:00-02:00"):
        with pytest.raises(UsageError):
            parse_window(bad)


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = parse_window("Fri 22:00-02:00")
    assert friday_night.is_open(at(11, 23))  # Friday 23:00
    assert friday_night.is_open(at(12, 1, 59))  # Saturday 01:59
    assert not friday_night.is_open(at(12, 2))  # Saturday 02:00: closed
    assert not friday_night.is_open(at(11, 1))  # Friday 01:00: Thursday night is not in it
    assert not friday_night.is_open(at(10, 23))  # Thursday


def test_the_next_opening_is_now_inside_and_the_next_start_outside() -> None:
    weekend = parse_window("Sat,Sun 02:00-05:00")
    assert weekend.next_opening(at(12, 3)) == at(12, 3)  # open now
    assert weekend.next_opening(at(8, 10)) == at(12, 2)  # Tuesday → Saturday 02:00
    assert weekend.next_opening(at(13, 6)) == at(19, 2)  # Sunday after it → next Saturday


def test_wall_clock_hours_hold_across_a_daylight_saving_change() -> None:
    nights = parse_window("daily 01:00-03:00")
    # 28 March 2027: Berlin moves from UTC+1 to UTC+2; 01:30 local is still in the window.
    assert nights.is_open(datetime(2027, 3, 28, 1, 30, tzinfo=BERLIN))
    assert nights.next_opening(datetime(2027, 3, 27, 12, 0, tzinfo=BERLIN)) == datetime(
        2027, 3, 28, 1, 0, tzinfo=BERLIN
    )


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown time zone"):
        zone("Mars/Olympus_Mons")
