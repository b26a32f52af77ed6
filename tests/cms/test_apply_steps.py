"""Every install ends the same way: it is ok only if the target version is on disk and
the files are still the SSH user's, and both checks are kept for the run's journal."""

from __future__ import annotations

import asyncio
import time

from sitekeeper.cms.apply_steps import ApplySteps
from sitekeeper.domain.updates import ApplyResult, Check


async def _owner(ok: bool) -> Check:
    return Check("ownership", ok, "owner" if ok else "not yours", 0.5)


def _finish(version: str | None, owner_ok: bool) -> ApplyResult:
    steps = ApplySteps()
    return asyncio.run(steps.finish(version, "2.0", time.monotonic(), _owner(owner_ok)))


def test_target_on_disk_and_owned_is_ok() -> None:
    result = _finish("2.0", True)
    assert result.ok
    assert result.version_on_disk == "2.0"
    assert [(c.name, c.ok) for c in result.checks] == [("version", True), ("ownership", True)]
    assert result.checks[0].detail == "2.0 on disk (target 2.0)"


def test_other_version_or_no_version_fails() -> None:
    assert not _finish("1.9", True).ok
    missing = _finish(None, True)
    assert not missing.ok
    assert missing.checks[0].detail == "no version on disk (target 2.0)"


def test_lost_ownership_fails_even_at_the_target() -> None:
    result = _finish("2.0", False)
    assert not result.ok
    assert result.checks[1] == Check("ownership", False, "not yours", 0.5)
