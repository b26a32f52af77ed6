"""The quorum rule: a failure from one location is an incident only once confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sitekeeper.domain.incidents import IncidentKind, Transition
from sitekeeper.domain.quorum import LocationView, Verdict, silent, transitions, verdict

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = 60


def ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


def up(location: str, at: int) -> LocationView:
    return LocationView(location, True, ago(at))


def down(location: str, at: int, since: int | None = None) -> LocationView:
    return LocationView(
        location, False, ago(at), ago(since if since is not None else at), "refused"
    )


@pytest.mark.parametrize(
    ("views", "expected"),
    [
        # One failure, nobody has looked since: not an incident yet.
        ([down("eu", 0), up("us", 30)], Verdict("pending")),
        # Confirmed from a second location within the interval.
        (
            [down("eu", 20), down("us", 0), up("ap", 40)],
            Verdict("down", "refused (down from 2 of 3 locations)"),
        ),
        # Another location reached it while it kept failing here: a path problem.
        (
            [down("us", 5, since=50), up("eu", 10)],
            Verdict("unreachable", "refused (unreachable from us)", "us"),
        ),
        # Reached elsewhere after the last failure here: coming back up, or a blip.
        ([down("us", 10, since=50), up("eu", 5)], Verdict("pending")),
        # Every location reaches it.
        ([up("eu", 5), up("us", 10)], Verdict("up")),
        # A silent location's old failure does not count: the live one decides alone,
        # once its failures have gone unconfirmed for the silence horizon.
        ([down("eu", 10 * INTERVAL), down("us", 0, since=100)], Verdict("pending")),
        ([down("eu", 10 * INTERVAL), down("us", 0, since=180)], Verdict("down", "refused")),
        # A new site's first failure, no other location heard yet: wait for one.
        ([down("us", 0)], Verdict("pending")),
        ([down("eu", 10 * INTERVAL), up("us", 0)], Verdict("up")),
        # Nothing recent from anyone.
        ([up("eu", 10 * INTERVAL)], Verdict("pending")),
    ],
)
def test_verdict(views: list[LocationView], expected: Verdict) -> None:
    assert verdict(views, NOW, INTERVAL) == expected


def test_the_failing_location_is_named_whatever_order_views_come_in() -> None:
    a = verdict([up("ap", 4), down("us", 2, since=90), up("eu", 3)], NOW, INTERVAL)
    b = verdict([up("eu", 3), down("us", 2, since=90), up("ap", 4)], NOW, INTERVAL)
    assert a == b and a.location == "us"


DOWN, UNREACHABLE = IncidentKind.DOWN, IncidentKind.UNREACHABLE


@pytest.mark.parametrize(
    ("said", "open_kinds", "expected"),
    [
        (Verdict("pending"), frozenset(), []),
        (Verdict("pending"), frozenset({DOWN}), []),  # unconfirmed: nothing closes either
        (Verdict("down", "c"), frozenset(), [Transition("open", DOWN, "c")]),
        (Verdict("down", "c"), frozenset({DOWN}), []),
        (
            Verdict("down", "c"),
            frozenset({UNREACHABLE}),
            [Transition("close", UNREACHABLE), Transition("open", DOWN, "c")],
        ),
        (
            Verdict("unreachable", "u", "us"),
            frozenset({DOWN}),
            [Transition("close", DOWN), Transition("open", UNREACHABLE, "u")],
        ),
        (
            Verdict("up"),
            frozenset({DOWN, IncidentKind.TLS_EXPIRING}),
            [Transition("close", DOWN)],  # the certificate's incident is not the quorum's
        ),
        (Verdict("up"), frozenset({UNREACHABLE}), [Transition("close", UNREACHABLE)]),
    ],
)
def test_transitions(
    said: Verdict, open_kinds: frozenset[IncidentKind], expected: list[Transition]
) -> None:
    assert transitions(said, open_kinds) == expected


def test_a_location_is_silent_after_three_intervals_without_results() -> None:
    seen = {"eu": ago(30), "us": ago(3 * INTERVAL + 1), "ap": ago(3 * INTERVAL)}
    assert silent(seen, NOW, INTERVAL) == ["us"]


def test_a_long_cause_keeps_where_it_was_seen_within_the_column() -> None:
    long = LocationView("us", False, ago(0), ago(0), "x" * 600)
    said = verdict([long, down("eu", 10)], NOW, INTERVAL)
    assert said.cause is not None and len(said.cause) == 500
    assert said.cause.endswith(" (down from 2 of 2 locations)")
