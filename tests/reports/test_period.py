"""A report's period: the client's local dates and their exact UTC bounds, across
daylight-saving changes and in zones on both sides of UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from sitekeeper.errors import UsageError
from sitekeeper.reports.period import between, chosen, month, previous_month


@pytest.mark.parametrize(
    ("text", "zone", "start", "end", "hours"),
    [
        # Berlin leaves summer time on 25 October 2026: the month has 745 hours.
        ("2026-10", "Europe/Berlin", "2026-09-30T22:00", "2026-10-31T23:00", 745),
        # New York starts summer time on 8 March 2026: the month has 743 hours.
        ("2026-03", "America/New_York", "2026-03-01T05:00", "2026-04-01T04:00", 743),
        ("2026-11", "America/New_York", "2026-11-01T04:00", "2026-12-01T05:00", 721),
        ("2026-11", "UTC", "2026-11-01T00:00", "2026-12-01T00:00", 720),
        ("2026-12", "Pacific/Auckland", "2026-11-30T11:00", "2026-12-31T11:00", 744),
    ],
)
def test_a_month_is_the_clients_midnights_in_utc(
    text: str, zone: str, start: str, end: str, hours: int
) -> None:
    period = month(text, zone)
    assert period.start == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert period.end == datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert period.end - period.start == timedelta(hours=hours)
    assert period.label == text and period.months == 1 and period.days == len(period.dates())


def test_dates_from_to_are_inclusive_and_count_as_part_of_a_month() -> None:
    period = between(date(2026, 11, 3), date(2026, 11, 17), "Europe/Berlin")
    assert period.label == "2026-11-03..2026-11-17" and period.days == 15
    assert period.months == Fraction(15, 30)
    assert period.start == datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
    assert period.contains(datetime(2026, 11, 17, 22, 59, tzinfo=UTC))
    assert not period.contains(datetime(2026, 11, 17, 23, 0, tzinfo=UTC))
    spanning = between(date(2026, 2, 15), date(2026, 3, 16), "UTC")
    assert spanning.months == Fraction(14, 28) + Fraction(16, 31)


def test_the_default_is_the_previous_month_where_the_client_is() -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 1 December in Berlin, 30 November in NY
    assert previous_month(now, "Europe/Berlin").label == "2026-11"
    assert previous_month(now, "America/New_York").label == "2026-10"
    assert chosen(None, None, None, timezone="Europe/Berlin", now=now).label == "2026-11"
    assert chosen(None, date(2026, 11, 10), None, timezone="UTC", now=now).last == date(
        2026, 11, 30
    )
    assert chosen(None, None, date(2026, 11, 10), timezone="UTC", now=now).first == date(
        2026, 11, 1
    )


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-11", "November", "1969-12"])
def test_a_bad_month_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="invalid period"):
        month(text, "UTC")


def test_bad_ranges_and_zones_are_refused() -> None:
    with pytest.raises(UsageError, match="before it starts"):
        between(date(2026, 11, 5), date(2026, 11, 4), "UTC")
    with pytest.raises(UsageError, match="at most"):
        between(date(2025, 1, 1), date(2026, 6, 1), "UTC")
    with pytest.raises(UsageError, match="unknown time zone"):
        month("2026-11", "Mars/Olympus")
    with pytest.raises(UsageError, match="not both"):
        chosen("2026-11", date(2026, 11, 1), None, timezone="UTC", now=datetime.now(UTC))
