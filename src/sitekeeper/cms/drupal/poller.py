"""Drupal releases from updates.drupal.org's release history, core and contrib.

The history carries what advisories lack: which branches are supported, which
releases were security updates, which were later flagged insecure, and whether
the project itself is insecure, revoked or unsupported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import quote

from sitekeeper.cms.drupal.releases import ReleaseHistory, parse_release_history
from sitekeeper.cms.drupal.sources import release_history_base
from sitekeeper.cms.drupal.versions import DRUPAL, DrupalVersion
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.errors import FeedError
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.intel.polling import PollResult

SOURCE = "drupal.org"


async def poll(fetcher: Fetcher, packages: Iterable[tuple[str, str]]) -> PollResult:
    """Every (type, project) given: core is ``("core", "drupal")``; failures are reported."""
    result = PollResult()
    limit = asyncio.Semaphore(fetcher.settings.concurrency)

    async def one(type_: str, project: str) -> None:
        async with limit:
            result.asked(DRUPAL, [(type_, project)])
            try:
                info = await poll_project(fetcher, type_, project)
            except FeedError as exc:
                result.fail(DRUPAL, [(type_, project)], str(exc))
                return
            if info is not None:
                result.packages.append(info)

    await asyncio.gather(*(one(t, p) for t, p in sorted(set(packages))))
    return result


async def poll_project(fetcher: Fetcher, type_: str, project: str) -> PackageInfo | None:
    """One project's history (``/current``; core also ``/7.x``); None when unchanged."""
    base = release_history_base(fetcher.settings.vendor)
    name = quote(project, safe="")
    urls = [f"{base}/{name}/current"] + ([f"{base}/{name}/7.x"] if type_ == "core" else [])
    responses = [await fetcher.get(url, ok_statuses=(200, 404)) for url in urls]
    if all(r.not_modified for r in responses):
        return None
    histories: list[ReleaseHistory] = []
    for url, first in zip(urls, responses, strict=True):
        body = first.body
        if body is None:  # one unchanged, another changed: re-read it whole
            body = (await fetcher.get(url, conditional=False, ok_statuses=(200, 404))).body
        try:
            history = parse_release_history(body or b"<error/>")
        except FeedError as exc:
            fetcher.failed(url, str(exc))
            raise
        if history is not None:
            histories.append(history)
    if not histories:
        return PackageInfo(DRUPAL, type_, project, latest=None, source=SOURCE, status="not-found")
    return _info(type_, project, histories)


def _info(type_: str, project: str, histories: list[ReleaseHistory]) -> PackageInfo:
    main = histories[0]
    releases = [r for h in histories for r in h.releases if r.status == "published"]
    key = DRUPAL.sort_key()
    stable = sorted((r.version for r in releases if _stable(r.version)), key=key)
    branch_latest: dict[str, str] = {}
    for version in stable:
        branch_latest[DrupalVersion.parse(version).branch()] = version
    supported = [b for h in histories for b in h.supported_branches]
    return PackageInfo(
        ecosystem=DRUPAL,
        type=type_,
        package=project,
        name=main.title or project,
        latest=stable[-1] if stable else None,
        source=SOURCE,
        status=str(main.project_status),
        details={"branch_latest": branch_latest, "supported_branches": supported},
        releases=tuple(
            ReleaseInfo(r.version, r.date, security_update=r.security_update, insecure=r.insecure)
            for r in releases
        ),
    )


def _stable(version: str) -> bool:
    return DrupalVersion.parse(version).extra is None
