"""`sitekeeper check`: check URLs now, concurrently, without the scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sitekeeper.config import Settings
from sitekeeper.domain.checks import DEFAULT_PROBE, CheckResult
from sitekeeper.probes.registry import ProbeSet


@dataclass(frozen=True, slots=True)
class OneShotTarget:
    """A URL to check, with a registered site's name, check kind and options when it has them."""

    url: str
    options: Mapping[str, Any] = field(default_factory=dict)  # the probe's, as stored
    site: str | None = None
    probe: str = DEFAULT_PROBE
    site_id: int | None = None  # a registered site's: its results are stored with it


async def check_all(
    targets: Sequence[OneShotTarget],
    settings: Settings,
    *,
    concurrency: int,
    on_done: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Check every target with at most ``concurrency`` at once; results in input order."""
    slots = asyncio.Semaphore(concurrency)
    async with ProbeSet.from_settings(settings) as probes:

        async def one(target: OneShotTarget) -> CheckResult:
            async with slots:
                result = await probes.check(target.probe, target.url, target.options)
            if on_done is not None:
                on_done(result)
            return result

        return list(await asyncio.gather(*(one(t) for t in targets)))
