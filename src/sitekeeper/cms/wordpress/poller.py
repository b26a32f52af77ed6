"""WordPress releases from api.wordpress.org: core (version-check + stable-check) and the
plugin and theme directories (info 1.2, one conditional request per slug).

stable-check is the vendor's own security flag per core version; it is also the
release list that tells back-ported fixes apart (``intel.branches``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import quote

from sitekeeper.cms.wordpress.api import (
    StableStatus,
    parse_package_info,
    parse_stable_check,
    parse_version_check,
)
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.cms.wordpress.sources import api_base
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.errors import FeedError
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.intel.polling import PollResult

SOURCE = "wordpress.org"


async def poll(fetcher: Fetcher, packages: Iterable[tuple[str, str]]) -> PollResult:
    """Core, plus every (type, slug) plugin or theme given; failures are reported, not raised."""
    result = PollResult()
    wanted = sorted(set(packages))
    if ("core", "wordpress") in wanted:
        await _guard(result, ("core", "wordpress"), poll_core(fetcher))
    limit = asyncio.Semaphore(fetcher.settings.concurrency)

    async def one(type_: str, slug: str) -> None:
        async with limit:
            await _guard(result, (type_, slug), poll_package(fetcher, type_, slug))

    await asyncio.gather(*(one(t, s) for t, s in wanted if t in ("plugin", "theme")))
    return result


async def _guard(result: PollResult, item: tuple[str, str], work: object) -> None:
    """Run one feed's poll; a failure becomes an error line for that feed only."""
    assert asyncio.iscoroutine(work)
    result.asked(WORDPRESS, [item])
    try:
        info = await work
    except FeedError as exc:
        result.fail(WORDPRESS, [item], str(exc))
        return
    if info is not None:
        result.packages.append(info)


async def poll_core(fetcher: Fetcher) -> PackageInfo | None:
    """Latest core from version-check, per-version insecure flags from stable-check.

    Either feed unchanged (304) and the other changed still rebuilds the entry,
    so both are read unconditionally when one changed.
    """
    base = api_base(fetcher.settings.vendor)
    check_url, stable_url = f"{base}/core/version-check/1.7/", f"{base}/core/stable-check/1.0/"
    check = await fetcher.get(check_url)
    stable = await fetcher.get(stable_url)
    if check.not_modified and stable.not_modified:
        return None
    if check.body is None:
        check = await fetcher.get(check_url, conditional=False)
    if stable.body is None:
        stable = await fetcher.get(stable_url, conditional=False)
    assert check.body is not None
    assert stable.body is not None
    try:
        offers = parse_version_check(check.body)
        statuses = parse_stable_check(stable.body)
    except FeedError as exc:
        fetcher.failed(check_url, str(exc))
        fetcher.failed(stable_url, str(exc))
        raise
    key = WORDPRESS.sort_key()
    releases = sorted(statuses, key=key)
    stable_offers = [o.version for o in offers if o.response != "development"]
    latest = max(stable_offers or releases, key=key)
    branch_latest: dict[str, str] = {}
    for version in releases:
        branch_latest[WORDPRESS.branch(version)] = version  # sorted, so the last one wins
    return PackageInfo(
        ecosystem=WORDPRESS,
        type="core",
        package="wordpress",
        name="WordPress",
        latest=latest,
        source=SOURCE,
        details={
            "branch_latest": branch_latest,
            # what each offered release needs (an update to it on older PHP is refused)
            "requires_php": {o.version: o.php_version for o in offers if o.php_version},
            "requires_db": {o.version: o.mysql_version for o in offers if o.mysql_version},
        },
        releases=tuple(
            ReleaseInfo(v, insecure=statuses[v] is StableStatus.INSECURE) for v in releases
        ),
    )


async def poll_package(fetcher: Fetcher, type_: str, slug: str) -> PackageInfo | None:
    """One plugin or theme from the directory; ``not-found`` if wordpress.org has no such slug."""
    base = api_base(fetcher.settings.vendor)
    name = quote(slug, safe="")
    if type_ == "plugin":
        url = f"{base}/plugins/info/1.2/?action=plugin_information&slug={name}"
    else:
        url = f"{base}/themes/info/1.2/?action=theme_information&request%5Bslug%5D={name}"
    response = await fetcher.get(url, ok_statuses=(200, 404), max_bytes=4 * 1024 * 1024)
    if response.body is None:
        return None
    try:
        info = parse_package_info(response.body)
    except FeedError as exc:
        fetcher.failed(url, str(exc))
        raise
    if info is None:
        return PackageInfo(WORDPRESS, type_, slug, latest=None, source=SOURCE, status="not-found")
    versions = [v for v in info.versions if v != "trunk" and _readable(v)]
    return PackageInfo(
        ecosystem=WORDPRESS,
        type=type_,
        package=slug,
        name=info.name[:300],
        latest=info.version,
        source=SOURCE,
        details={"requires_php": {info.version: info.requires_php}} if info.requires_php else {},
        releases=tuple(ReleaseInfo(v) for v in versions),
    )


def _readable(version: str) -> bool:
    try:
        WORDPRESS.compare(version, version)
    except ValueError:
        return False
    return True
