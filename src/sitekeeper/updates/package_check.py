"""An archive's files against the vendor's per-file checksums.

Both ways: every file of the archive must be listed with a matching digest (a file the
vendor never listed is as unverified as a changed one), and every listed file must be
in the archive (a release missing a file is not the release).
"""

from __future__ import annotations

from sitekeeper.cms.package_source import FileDigests, PackageSource
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.updates.package_zip import MiB, ZipContents

MAX_CHECKSUMS = 8 * MiB
_SHOWN = 3


async def check_files(source: PackageSource, contents: ZipContents, fetcher: Fetcher) -> str:
    """What the archive was checked against, in words; InvalidFeed when it does not match."""
    checksums = source.checksums
    assert checksums is not None
    result = await fetcher.get(
        checksums.url, conditional=False, max_bytes=MAX_CHECKSUMS, ok_statuses=(200, 404)
    )
    if result.body is None:
        raise FeedError(f"{checksums.url}: no body")
    listed = None if result.status == 404 else checksums.parse(result.body)
    if listed is None:
        if checksums.required or not source.sha256:
            raise InvalidFeed(
                f"{checksums.label} has no checksums for this version ({checksums.url}); "
                "nothing to verify the archive against, refused"
            )
        return f"{checksums.label} does not list this version: checked by the pinned sha256"
    problems = compare(listed, contents, checksums.algorithm)
    if problems:
        raise InvalidFeed(
            f"the archive does not match {checksums.label} ({checksums.url}): "
            + "; ".join(problems)
            + ", refused"
        )
    return f"every file matches {checksums.label}: {len(listed)} files ({checksums.url})"


def compare(listed: FileDigests, contents: ZipContents, algorithm: str) -> list[str]:
    """The differences, in words, at most a few of each kind."""
    changed = sorted(
        path
        for path, digests in contents.digests.items()
        if path in listed and digests[algorithm] not in listed[path]
    )
    extra = sorted(path for path in contents.digests if path not in listed)
    missing = sorted(path for path in listed if path not in contents.digests)
    problems = []
    for what, paths in (("differs", changed), ("not listed", extra), ("missing", missing)):
        if paths:
            shown = ", ".join(repr(p[:120]) for p in paths[:_SHOWN])
            more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
            problems.append(f"{len(paths)} file(s) {what}: {shown}{more}")
    return problems
