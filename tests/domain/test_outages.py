"""Which checks are down time: inside a confirmed outage on a day checked from several
locations, each failed check on a day checked from one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.domain.outages import DAY_MS, NONE, Outages, counted_up, day_summary
from sitekeeper.domain.uptime import summarize

H = 3_600_000  # an hour in ms


@pytest.mark.parametrize(
    ("ts", "covered"),
    [
        (H - 1, False),  # just before it opened
        (H, True),  # the check that opened it
        (2 * H - 1, True),
        (2 * H, False),  # the check that closed it
        (5 * H, True),  # the second outage, still open
        (50 * H, True),
    ],
)
def test_an_outage_covers_from_its_opening_to_its_closing(ts: int, covered: bool) -> None:
    assert Outages([(5 * H, None), (H, 2 * H)]).covers(ts) is covered


def test_overlapping_and_touching_outages_are_one() -> None:
    outages = Outages([(H, 3 * H), (2 * H, 4 * H), (4 * H, 5 * H), (7 * H, 8 * H)])
    assert [outages.covers(h * H) for h in range(10)] == [
        False, True, True, True, True, False, False, True, False, False,
    ]  # fmt: skip


def test_one_location_counts_its_own_results_several_count_the_outages() -> None:
    outages = Outages([(H, 2 * H)])
    day2 = DAY_MS
    checks = [
        (0, "", False),  # day 1, one location only: its failure counts
        (H, "", True),  # ...and a success inside an outage is up time
        (day2, "", True),  # day 2: two locations
        (day2 + 10, "us-east", False),  # a failure outside any outage: up time
    ]
    assert counted_up(checks, outages) == [False, True, True, True]
    assert counted_up([(H + 5, "", True), (H + 6, "us", True)], outages) == [False, False]


def test_the_days_figures_of_two_locations() -> None:
    by_location = {
        "": [(0, True, 100), (H, True, 110), (2 * H, False, 30)],
        "us-east": [(1, False, 30), (H + 1, True, 400), (2 * H + 1, True, 420)],
    }
    day = day_summary(by_location, Outages([(H, H + 1)]), "")
    assert (day.checks, day.up_checks) == (6, 5)
    assert (day.p50_ms, day.max_ms) == (100, 110)  # the default location's
    alone = day_summary({"": by_location[""]}, Outages([(H, H + 1)]), "")
    assert alone == summarize([(True, 100), (True, 110), (False, 30)])


checks_of_a_day = st.lists(
    st.tuples(st.integers(0, DAY_MS - 1), st.sampled_from(["", "us-east"]), st.booleans()),
    max_size=50,
)


@given(checks_of_a_day)
def test_without_outages_only_a_single_location_day_has_down_time(
    checks: list[tuple[int, str, bool]],
) -> None:
    counted = counted_up(checks, NONE)
    if len({location for _, location, _ in checks}) > 1:
        assert all(counted)
    else:
        assert counted == [up for _, _, up in checks]


@given(checks_of_a_day, st.lists(st.tuples(st.integers(0, DAY_MS), st.integers(1, H))))
def test_the_summary_counts_what_counted_up_counts(
    checks: list[tuple[int, str, bool]], spans: list[tuple[int, int]]
) -> None:
    outages = Outages((start, start + length) for start, length in spans)
    by_location: dict[str, list[tuple[int, bool, int | None]]] = {}
    for ts, location, up in checks:
        by_location.setdefault(location, []).append((ts, up, 100))
    if checks:
        day = day_summary(by_location, outages, "")
        assert (day.checks, day.up_checks) == (len(checks), sum(counted_up(checks, outages)))
