"""WordPress release hashes: the API publishes every file's MD5 per release, so the
fingerprint can learn releases without downloading them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sitekeeper.cms.wordpress.api import parse_core_checksums, parse_stable_check
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.cms.wordpress.sources import api_base
from sitekeeper.intel.hashes import Learner, every
from sitekeeper.intel.hashes import keep as kept_files
from sitekeeper.intel.release_files import Paths, Within

log = logging.getLogger(__name__)


async def wordpress_releases(learner: Learner, oldest: str = "3.7") -> list[str]:
    """Releases from stable-check, from ``oldest`` on (older sites are rare)."""
    return await learner.once(f"wordpress {oldest}", lambda: _wordpress_releases(learner, oldest))


async def _wordpress_releases(learner: Learner, oldest: str) -> list[str]:
    base = api_base(learner.sources.vendor)
    body = await learner.get(f"{base}/core/stable-check/1.0/", learner.sources.max_feed_bytes)
    eco = WORDPRESS
    listed = [v for v in parse_stable_check(body) if eco.compare(v, oldest) >= 0]
    learner.knowledge.set_releases("wordpress", listed)
    return listed


async def learn_wordpress(
    learner: Learner,
    paths: Paths = None,
    versions: Iterable[str] | None = None,
    within: Within = None,
) -> list[str]:
    """Learn from ``/core/checksums/1.0/`` the given versions, or those of stable-check
    that ``within`` accepts (all by default)."""
    base = api_base(learner.sources.vendor)
    if versions is None:
        versions = [v for v in await wordpress_releases(learner) if within is None or within(v)]
    todo = [v for v in versions if not learner.knowledge.knows("wordpress", v)]
    keep = kept_files(paths)

    async def one(version: str) -> str | None:
        url = f"{base}/core/checksums/1.0/?version={version}&locale=en_US"
        async with learner.gate:
            body = await learner.get(url, learner.sources.max_feed_bytes)
        checksums = parse_core_checksums(body)
        if checksums is None:
            # WordPress has no checksums for it: remembered as shipping nothing we could
            # compare (not asked again, and not kept open by every fingerprint).
            learner.knowledge.add("wordpress", version, {})
            return None
        learner.knowledge.add("wordpress", version, {p: d for p, d in checksums.items() if keep(p)})
        return version

    done = await every(one(v) for v in todo)
    return [v for v in done if v is not None]
