"""Joomla release hashes: each core release's package from the legacy update XML (3.x,
4.x) or the TUF repository (5.1+), verified against what the feed vouches for."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from sitekeeper.cms.joomla.sources import JoomlaSources, joomla_sources
from sitekeeper.cms.joomla.tuf import TufRelease, parse_tuf_targets
from sitekeeper.cms.joomla.updates import JoomlaUpdate, parse_collection, parse_update_server
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.hashes import Learner, every, raise_all
from sitekeeper.intel.hashes import keep as kept_files
from sitekeeper.intel.payload import parse_xml
from sitekeeper.intel.release_files import Paths, Within

log = logging.getLogger(__name__)


async def joomla_releases(
    learner: Learner,
) -> tuple[dict[str, JoomlaUpdate], dict[str, TufRelease]]:
    """Every core release the feeds link a package of; a feed that fails is skipped
    (logged) when the other answers, so one source down does not stop the other."""
    return await learner.once("joomla", lambda: _joomla_releases(learner))


async def _joomla_releases(
    learner: Learner,
) -> tuple[dict[str, JoomlaUpdate], dict[str, TufRelease]]:
    updates: dict[str, JoomlaUpdate] = {}
    tuf: dict[str, TufRelease] = {}
    failures: list[FeedError] = []
    sources = joomla_sources(learner.sources.vendor)
    try:
        for update in await _joomla_updates(learner, sources.joomla_update_url):
            if update.element == "joomla" and any(not d.source for d in update.downloads):
                updates.setdefault(update.version, update)
    except FeedError as exc:
        failures.append(exc)
    if sources.joomla_tuf_root is not None:
        try:
            for release in await _joomla_tuf_releases(learner, sources):
                tuf.setdefault(release.info.version, release)
        except FeedError as exc:
            failures.append(exc)
    if failures and not (updates or tuf):
        raise_all(failures)
    for failure in failures:
        log.warning("Joomla release list: %s", failure)
    learner.knowledge.set_releases("joomla", [*updates, *tuf])
    return updates, tuf


async def learn_joomla(learner: Learner, paths: Paths = None, within: Within = None) -> list[str]:
    """Learn each listed core release's package (verified) that ``within`` accepts."""
    updates, tuf = await joomla_releases(learner)
    keep = kept_files(paths)

    def due(version: str) -> bool:
        return (within is None or within(version)) and not learner.knowledge.knows(
            "joomla", version
        )

    async def one(update: JoomlaUpdate) -> str:
        url = next(d.url for d in update.downloads if not d.source)
        files = await learner.archive_hashes(url, keep, strip=0, expected=update.hashes)
        learner.knowledge.add("joomla", update.version, files)
        return update.version

    async def one_tuf(release: TufRelease) -> str:
        files = await _tuf_archive_hashes(learner, release, keep)
        learner.knowledge.add("joomla", release.info.version, files)
        return release.info.version

    return await every(
        [
            *(one(u) for v, u in updates.items() if due(v)),
            *(one_tuf(r) for v, r in tuf.items() if due(v) and v not in updates),
        ]
    )


async def joomla_release_tree(learner: Learner, version: str) -> dict[str, str] | None:
    """Every file of one release's package (legacy list first, then TUF), verified as
    ``learn_joomla`` verifies it; None if neither feed lists ``version``."""
    updates, tuf = await joomla_releases(learner)
    if version in updates:
        update = updates[version]
        url = next(d.url for d in update.downloads if not d.source)
        return await learner.archive_hashes(url, every_file, strip=0, expected=update.hashes)
    if version in tuf:
        return await _tuf_archive_hashes(learner, tuf[version], every_file)
    return None


def every_file(path: str) -> bool:
    """The integrity scan compares every file of the package, not only the public ones."""
    return True


async def _joomla_tuf_releases(learner: Learner, sources: JoomlaSources) -> list[TufRelease]:
    """Core releases of the TUF targets, verified by python-tuf exactly as the poller does."""
    from sitekeeper.cms.joomla.poller import tuf_targets  # noqa: PLC0415 - pulls in tuf

    state = sources.joomla_tuf_state
    if state is None and learner.knowledge.root is not None:
        state = learner.knowledge.root.parent / "joomla-tuf-hashes"
    if state is not None:
        targets = await asyncio.to_thread(tuf_targets, sources, state)
    else:
        with tempfile.TemporaryDirectory(prefix="sitekeeper-tuf-") as tmp:
            targets = await asyncio.to_thread(tuf_targets, sources, Path(tmp))
    releases = parse_tuf_targets(targets, max_bytes=learner.sources.max_feed_bytes)
    return [r for r in releases if r.info.element == "joomla"]


async def _tuf_archive_hashes(
    learner: Learner, release: TufRelease, keep: Callable[[str], bool]
) -> dict[str, str]:
    """The package from the first mirror that answers, checked against the signed target.

    A mirror that is down is skipped; one that serves other bytes is not
    (InvalidFeed): the target's length and hashes are what TUF vouched for.
    """
    urls = [d.url for d in release.info.downloads if d.type == "full"] or [
        d.url for d in release.info.downloads
    ]
    if not urls:
        raise InvalidFeed(f"Joomla TUF target {release.filename}: no download link")
    failures: list[str] = []
    for url in urls:
        try:
            return await learner.archive_hashes(
                url, keep, strip=0, expected=release.hashes, length=release.length
            )
        except InvalidFeed:
            raise
        except FeedError as exc:
            failures.append(str(exc))
    raise FeedError(f"Joomla {release.info.version}: no mirror answered ({'; '.join(failures)})")


async def _joomla_updates(learner: Learner, url: str) -> list[JoomlaUpdate]:
    """An ``<updates>`` server, or a collection whose entries point at them."""
    body = await learner.get(url, learner.sources.max_feed_bytes)
    root = parse_xml(body, what="Joomla core update feed", max_bytes=learner.sources.max_feed_bytes)
    if root.tag == "updates":
        return parse_update_server(body, max_bytes=learner.sources.max_feed_bytes)
    entries = parse_collection(body, max_bytes=learner.sources.max_feed_bytes)
    details = sorted({e.detailsurl for e in entries if e.element == "joomla"})
    found: list[JoomlaUpdate] = []
    for detail in details:
        text = await learner.get(detail, learner.sources.max_feed_bytes)
        found.extend(parse_update_server(text, max_bytes=learner.sources.max_feed_bytes))
    return found
