"""A Joomla install starts only where the site's own console is there (Joomla 4+): on
Joomla 3, or when the lookup fails, nothing is done and the check says why."""

from __future__ import annotations

import asyncio
import time
from typing import cast

from sitekeeper.cms.apply_steps import ApplySteps
from sitekeeper.cms.joomla.install import console_of
from sitekeeper.errors import RemoteError
from sitekeeper.remote.ssh import SshConnection


class _Conn:
    def __init__(self, found: object) -> None:
        self.found = found
        self.asked: list[str] = []

    async def lstat(self, path: str) -> object:
        self.asked.append(path)
        if isinstance(self.found, Exception):
            raise self.found
        return self.found


def _console(found: object) -> tuple[list[str] | None, ApplySteps, _Conn]:
    steps, conn = ApplySteps(), _Conn(found)
    got = asyncio.run(
        console_of(steps, cast(SshConnection, conn), "/site", "php8", time.monotonic())
    )
    return got, steps, conn


def test_console_found_is_the_command_line_and_records_nothing() -> None:
    got, steps, conn = _console(object())
    assert got == ["php8", "/site/cli/joomla.php"]
    assert conn.asked == ["/site/cli/joomla.php"]
    assert steps.checks == []


def test_no_console_is_a_failed_check() -> None:
    got, steps, _ = _console(None)
    assert got is None
    assert [(c.name, c.ok) for c in steps.checks] == [("console", False)]
    assert "not a Joomla 4+ site" in steps.checks[0].detail


def test_lookup_failure_is_a_failed_check() -> None:
    got, steps, _ = _console(RemoteError("connection lost"))
    assert got is None
    assert [(c.name, c.ok) for c in steps.checks] == [("console", False)]
    assert "connection lost" in steps.checks[0].detail
