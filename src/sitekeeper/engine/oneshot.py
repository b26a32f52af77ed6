"""`sitekeeper check`: check URLs now, concurrently, without the scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sitekeeper.config import Settings
from sitekeeper.domain.checks import CheckOptions, CheckResult
from sitekeeper.egress.policy import site_policy
from sitekeeper.probes.http import HttpProbe


@dataclass(frozen=True, slots=True)
class OneShotTarget:
    """A URL to check, with a registered site's name and options when it has them."""

    url: str
    options: CheckOptions
    site: str | None = None


async def check_all(
    targets: Sequence[OneShotTarget],
    settings: Settings,
    *,
    concurrency: int,
    on_done: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Check every target with at most ``concurrency`` at once; results in input order."""
    slots = asyncio.Semaphore(concurrency)
    async with HttpProbe(
        timeout=settings.check_timeout,
        max_body_bytes=settings.max_body_bytes,
        max_redirects=settings.max_redirects,
        user_agent=settings.user_agent,
        per_ip_concurrency=settings.per_ip_concurrency,
        egress=site_policy(settings),
        dns_servers=settings.dns_servers,
        dns_timeout=settings.dns_timeout,
    ) as probe:

        async def one(target: OneShotTarget) -> CheckResult:
            async with slots:
                result = await probe.check(target.url, target.options)
            if on_done is not None:
                on_done(result)
            return result

        return list(await asyncio.gather(*(one(t) for t in targets)))
