"""Drupal release hashes: the release history of each branch links a tarball with its
MD5, streamed and hashed as it downloads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sitekeeper.cms.drupal.releases import DrupalRelease, parse_release_history
from sitekeeper.cms.drupal.sources import release_history_base
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.hashes import Learner, every, raise_all
from sitekeeper.intel.hashes import keep as kept_files
from sitekeeper.intel.release_files import Paths, Within

log = logging.getLogger(__name__)


async def drupal_releases(
    learner: Learner, branches: Sequence[str] = ("current", "7.x")
) -> dict[str, DrupalRelease]:
    """Published stable releases with a tarball, from each branch's history. A branch
    whose history is gone (404, as old ones end) is skipped, another failure is
    logged; only when no branch answers is it raised."""
    return await learner.once(f"drupal {branches}", lambda: _drupal_releases(learner, branches))


async def _drupal_releases(learner: Learner, branches: Sequence[str]) -> dict[str, DrupalRelease]:
    base = release_history_base(learner.sources.vendor)
    found: dict[str, DrupalRelease] = {}
    failures: list[FeedError] = []
    for branch in branches:
        url = f"{base}/drupal/{branch}"
        try:
            body = await learner.get(url, learner.sources.max_feed_bytes)
            history = parse_release_history(body, max_bytes=learner.sources.max_feed_bytes)
        except FeedError as exc:
            if not exc.permanent:  # a 404 is "no such branch", not worth a warning
                failures.append(exc)
            continue
        for release in history.releases if history is not None else ():
            link = release.download_link
            if (
                link
                and link.endswith(".tar.gz")
                and release.status == "published"
                and "dev" not in release.version
            ):
                found.setdefault(release.version, release)
    if failures and not found:
        raise_all(failures)
    for failure in failures:
        log.warning("Drupal release history: %s", failure)
    learner.knowledge.set_releases("drupal", found)
    return found


async def learn_drupal(
    learner: Learner,
    paths: Paths = None,
    branches: Sequence[str] = ("current", "7.x"),
    within: Within = None,
) -> list[str]:
    """Learn each published release's tarball (streamed) that ``within`` accepts."""
    releases = await drupal_releases(learner, branches)
    keep = kept_files(paths)

    async def one(release: DrupalRelease) -> str:
        files = await _tarball_hashes(learner, release, keep)
        learner.knowledge.add("drupal", release.version, files)
        return release.version

    todo = [
        r
        for v, r in releases.items()
        if (within is None or within(v)) and not learner.knowledge.knows("drupal", v)
    ]
    return await every(one(r) for r in todo)


async def drupal_release_tree(learner: Learner, version: str) -> dict[str, str] | None:
    """Every file of one release's tarball, the ``drupal-x.y.z/`` folder stripped (the
    docroot of a tarball install); None if no release history lists ``version``."""
    release = (await drupal_releases(learner)).get(version)
    if release is None:
        return None
    return await _tarball_hashes(learner, release, lambda _path: True)


async def _tarball_hashes(
    learner: Learner, release: DrupalRelease, keep: Callable[[str], bool]
) -> dict[str, str]:
    """The kept files of a release's tarball, checked against the history's MD5 and size."""
    link = release.download_link or ""
    md5, size = release.digest_of(link)
    if md5 is None:
        # Every release on updates.drupal.org has one; a history without
        # it cannot vouch for what a mirror hands us.
        raise InvalidFeed(f"{link}: the release history publishes no MD5 for it")
    return await learner.archive_hashes(link, keep, strip=1, expected={"md5": md5}, length=size)
