"""Incident rules: when a result opens or closes which incident."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sitekeeper.domain.checks import CheckResult, ErrorCategory, TlsInfo
from sitekeeper.domain.incidents import IncidentKind, Transition, evaluate, needs_confirmation

NOW = datetime(2026, 5, 1, tzinfo=UTC)
DOWN = IncidentKind.DOWN
EXPIRING = IncidentKind.TLS_EXPIRING


def result(
    up: bool, days_left: int | None = None, error: ErrorCategory | None = None
) -> CheckResult:
    tls = TlsInfo(valid=True, days_left=days_left) if days_left is not None else None
    return CheckResult(
        url="https://example.test/",
        up=up,
        status=200 if up else None,
        error=None if up else (error or ErrorCategory.TIMEOUT),
        response_ms=10,
        checked_at=NOW,
        tls=tls,
        detail=None if up else "no answer in 10 s",
    )


@pytest.mark.parametrize(
    ("open_kinds", "res", "expected"),
    [
        (frozenset(), result(True), []),
        (frozenset(), result(False), [Transition("open", DOWN, "timeout: no answer in 10 s")]),
        (frozenset({DOWN}), result(False), []),
        (frozenset({DOWN}), result(True), [Transition("close", DOWN)]),
        (frozenset(), result(True, days_left=30), []),
        (
            frozenset(),
            result(True, days_left=14),
            [Transition("open", EXPIRING, "certificate expires in 14 days")],
        ),
        (frozenset({EXPIRING}), result(True, days_left=3), []),
        (frozenset({EXPIRING}), result(True, days_left=90), [Transition("close", EXPIRING)]),
        # A site that is down says nothing about its certificate: no change.
        (
            frozenset({EXPIRING}),
            result(False),
            [Transition("open", DOWN, "timeout: no answer in 10 s")],
        ),
    ],
)
def test_evaluate(
    open_kinds: frozenset[IncidentKind], res: CheckResult, expected: list[Transition]
) -> None:
    assert evaluate(open_kinds, res, tls_warn_days=14) == expected


@pytest.mark.parametrize(
    ("previously_up", "up", "confirm"),
    [
        (True, False, True),
        (None, False, True),
        (False, False, False),
        (True, True, False),
        (False, True, False),
    ],
)
def test_only_a_new_failure_is_confirmed(
    previously_up: bool | None, up: bool, confirm: bool
) -> None:
    assert needs_confirmation(previously_up, result(up)) is confirm
