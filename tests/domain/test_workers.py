"""When a serve process counts as gone, and which roles SQLite allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sitekeeper.domain.workers import Role, liveness, role_allowed

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("silent", "stopped", "state"),
    [
        (0.0, False, "running"),
        (29.9, False, "running"),  # two late beats are normal
        (30.0, False, "running"),  # exactly three periods: not yet
        (30.1, False, "gone"),
        (3600.0, True, "stopped"),  # a goodbye is not a death
        (-5.0, False, "running"),  # a clock a little ahead on its host
    ],
)
def test_silent_for_more_than_three_heartbeats_is_gone(
    silent: float, stopped: bool, state: str
) -> None:
    beat = NOW - timedelta(seconds=silent)
    assert liveness(beat, 10.0, beat if stopped else None, NOW).state == state


@pytest.mark.parametrize(
    ("role", "dialect", "allowed"),
    [
        (Role.ALL, "sqlite", True),
        (Role.WEB, "sqlite", False),
        (Role.SCHEDULER, "sqlite", False),
        (Role.WORKER, "sqlite", False),
        (Role.WORKER, "postgresql", True),
        (Role.WEB, "postgresql", True),
    ],
)
def test_only_all_runs_on_sqlite(role: Role, dialect: str, allowed: bool) -> None:
    why = role_allowed(role, dialect)
    assert (why is None) == allowed
    if why is not None:
        assert "needs PostgreSQL" in why and "--role all" in why
