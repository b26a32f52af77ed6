"""One fingerprinter for a run: the shared probe, plus lazy learning of release hashes.

A hardened site leaves a range ("Drupal 10"); the releases inside it are learned
from the vendors' archives (only those, once, streamed — ``intel.hashes.RangeLearner``)
and the site is fingerprinted again with them, so its public files narrow the range.
``sitekeeper fingerprint``, the fingerprint task and ``serve``'s schedule all use this.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sitekeeper.config import Settings
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.intel.hashes import HashKnowledge, HashSources, RangeLearner
from sitekeeper.probes.fingerprint import FingerprintOptions, FingerprintProbe

FingerprintFn = Callable[[str, FingerprintOptions], Awaitable[Fingerprint]]
MAX_NOTES = 25  # evidence lines kept with what learning added


@asynccontextmanager
async def fingerprinter(settings: Settings) -> AsyncIterator[FingerprintFn]:
    """A fingerprint function for one run; with ``hash_learning`` (the default) it learns
    the releases a hardened site's range holds and narrows with them."""
    knowledge = await asyncio.to_thread(HashKnowledge.in_home, settings.home)
    async with FingerprintProbe.from_settings(settings, knowledge) as probe:
        if not settings.hash_learning:
            yield probe.fingerprint
            return
        async with RangeLearner(knowledge, HashSources.from_settings(settings)) as learner:

            async def fingerprint(url: str, options: FingerprintOptions) -> Fingerprint:
                return await learning(probe.fingerprint, learner, url, options)

            yield fingerprint


async def learning(
    fingerprint: FingerprintFn, learner: RangeLearner, url: str, options: FingerprintOptions
) -> Fingerprint:
    """Fingerprint; if only a range is known, learn the releases in it and look again."""
    found = await fingerprint(url, options)
    if found.error is not None or found.version or found.cms is None:
        return found
    learned, notes = await learner.learn_for(found)
    if learned:
        found = await fingerprint(url, options)
        notes.insert(0, f"learned the public files of {len(learned)} {found.cms} release(s)")
    found.evidence = [*found.evidence, *notes][:MAX_NOTES]
    return found
