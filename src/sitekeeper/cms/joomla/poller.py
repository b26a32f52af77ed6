"""Joomla releases: the TUF core repository (5.1+), the legacy XML core list, and the
update-server XML each extension declares in its manifest.

TUF is verified by python-tuf's ``ngclient.Updater`` from a trusted root we are
configured with (signatures, thresholds, expiry, rollback), never by hand; only
the already-verified ``targets.json`` is then parsed for its release data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from sitekeeper.cms.joomla.ecosystem import JOOMLA
from sitekeeper.cms.joomla.packages import element_of
from sitekeeper.cms.joomla.sources import JoomlaSources, joomla_sources
from sitekeeper.cms.joomla.tuf import parse_tuf_targets
from sitekeeper.cms.joomla.updates import JoomlaUpdate, parse_collection, parse_update_server
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.intel.polling import PollResult

SOURCE = "joomla.org"
MAX_DETAIL_URLS = 20  # the legacy core list names a handful of detail files


def tuf_targets(sources: JoomlaSources, state_dir: Path) -> bytes:
    """Refresh the TUF metadata (blocking: run in a thread) and return the trusted targets.

    InvalidFeed when verification fails (bad signature, expired, rollback...),
    FeedError when the repository cannot be reached.
    """
    from tuf.api import exceptions  # noqa: PLC0415 - only Joomla 5.1+ polling needs tuf
    from tuf.ngclient.updater import Updater  # noqa: PLC0415

    if sources.joomla_tuf_root is None:
        raise FeedError("Joomla TUF: no trusted root configured (joomla_tuf_root)", permanent=True)
    try:
        root = sources.joomla_tuf_root.read_bytes()
        state_dir.mkdir(parents=True, exist_ok=True)
        updater = Updater(
            metadata_dir=str(state_dir),
            metadata_base_url=sources.joomla_tuf_url,
            bootstrap=root,
        )
        updater.refresh()
        return (state_dir / "targets.json").read_bytes()
    except exceptions.DownloadError as exc:
        raise FeedError(f"Joomla TUF repository unreachable: {exc}") from exc
    except (exceptions.RepositoryError, ValueError) as exc:
        raise InvalidFeed(f"Joomla TUF repository failed verification: {exc}") from exc
    except OSError as exc:
        raise FeedError(f"Joomla TUF: {exc}") from exc


async def poll(
    fetcher: Fetcher,
    packages: Iterable[tuple[str, str, str | None]],
    *,
    state_dir: Path,
) -> PollResult:
    """Core (when ``("core", "joomla", _)`` is given) and each extension's update server."""
    result = PollResult()
    wanted = sorted(set(packages), key=lambda p: (p[0], p[1], p[2] or ""))
    if any(t == "core" for t, _, _ in wanted):
        result.asked(JOOMLA, [("core", "joomla")])
        try:
            result.packages.append(await poll_core(fetcher, state_dir))
        except FeedError as exc:
            result.fail(JOOMLA, [("core", "joomla")], str(exc))
    by_server: dict[str, list[tuple[str, str]]] = {}
    for type_, element, source in wanted:
        if type_ != "core" and source and source.startswith(("https://", "http://")):
            by_server.setdefault(source, []).append((type_, element))
    limit = asyncio.Semaphore(fetcher.settings.concurrency)

    async def one(url: str, items: list[tuple[str, str]]) -> None:
        async with limit:
            result.asked(JOOMLA, items)
            try:
                result.packages.extend(await poll_update_server(fetcher, url, items))
            except FeedError as exc:
                result.fail(JOOMLA, items, str(exc))

    await asyncio.gather(*(one(url, items) for url, items in by_server.items()))
    return result


async def poll_core(fetcher: Fetcher, state_dir: Path) -> PackageInfo:
    """Core releases: TUF when a root is configured, plus the legacy list for 3.x/4.x."""
    sources = joomla_sources(fetcher.settings.vendor)
    versions: dict[str, str] = {}  # version -> channel
    if sources.joomla_tuf_root is not None:
        targets = await asyncio.to_thread(tuf_targets, sources, state_dir)
        for release in parse_tuf_targets(targets):
            if release.info.stability.lower() == "stable" and release.info.element == "joomla":
                versions[release.info.version] = release.info.channel
    for update in await _legacy_core(fetcher, sources.joomla_update_url):
        if update.element == "joomla":
            versions.setdefault(update.version, update.section or "legacy")
    if not versions:
        raise InvalidFeed("Joomla core feeds list no stable release")
    key = JOOMLA.sort_key()
    ordered = sorted(versions, key=key)
    branch_latest: dict[str, str] = {}
    for version in ordered:
        branch_latest[JOOMLA.branch(version)] = version
    return PackageInfo(
        ecosystem=JOOMLA,
        type="core",
        package="joomla",
        name="Joomla!",
        latest=ordered[-1],
        source=SOURCE,
        details={"branch_latest": branch_latest},
        releases=tuple(ReleaseInfo(v) for v in ordered),
    )


async def _legacy_core(fetcher: Fetcher, url: str) -> list[JoomlaUpdate]:
    listing = await fetcher.get(url, conditional=False)
    assert listing.body is not None
    try:
        entries = parse_collection(listing.body)
    except FeedError as exc:
        fetcher.failed(url, str(exc))
        raise
    updates: list[JoomlaUpdate] = []
    for detail in list(dict.fromkeys(e.detailsurl for e in entries))[:MAX_DETAIL_URLS]:
        response = await fetcher.get(detail, conditional=False)
        assert response.body is not None
        try:
            updates.extend(parse_update_server(response.body))
        except FeedError as exc:
            fetcher.failed(detail, str(exc))
            raise
    return updates


async def poll_update_server(
    fetcher: Fetcher, url: str, items: list[tuple[str, str]]
) -> list[PackageInfo]:
    """The latest version of each (type, element) an extension update server lists."""
    response = await fetcher.get(url)
    if response.body is None:
        return []
    try:
        updates = parse_update_server(response.body)
    except FeedError as exc:
        fetcher.failed(url, str(exc))
        raise
    key = JOOMLA.sort_key()
    result = []
    for type_, slug in items:
        # the inventory's slug (plg_system_x, tpl_x) names the update server's element x
        element, _ = element_of(type_, slug)
        versions = sorted(
            {u.version for u in updates if u.element == element and u.type == type_}, key=key
        )
        result.append(
            PackageInfo(
                ecosystem=JOOMLA,
                type=type_,
                package=slug,
                latest=versions[-1] if versions else None,
                source=url,
                status="published" if versions else "not-found",
                releases=tuple(ReleaseInfo(v) for v in versions),
            )
        )
    return result
