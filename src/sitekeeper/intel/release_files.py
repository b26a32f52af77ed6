"""Where each CMS's release files come from, for the fingerprint's static-file hashes.

A CMS package provides this as part of its ``cms.protocol.Cms`` object (filed here
by ``cms.registry`` under its kind): the vendor's release list, and how to learn one
release's public files with a :class:`~sitekeeper.intel.hashes.Learner`. The hash
learning and the hash store name no CMS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sitekeeper.domain.versions import Ecosystem
from sitekeeper.plugins import Registry

if TYPE_CHECKING:
    from sitekeeper.intel.hashes import Learner

Within = Callable[[str], bool] | None  # which releases to learn (None: all)
Paths = Sequence[str] | None  # which files to keep (None: every public file)


class ReleaseFiles(Protocol):
    """A CMS's release list and release archives, as hash learning needs them."""

    @property
    def kind(self) -> str:
        """The CMS's kind (the hash store's directory for it)."""
        ...

    @property
    def ecosystem(self) -> Ecosystem:
        """Whose version rules order its releases."""
        ...

    @property
    def learns_unranged(self) -> bool:
        """Whether a fingerprint with no version range yet learns every release's hashes
        (cheap only where the vendor publishes per-release checksums)."""
        ...

    async def releases(self, learner: Learner) -> list[str]:
        """Every core release the vendor lists."""
        ...

    async def learn(self, learner: Learner, paths: Paths, within: Within) -> list[str]:
        """Learn the static-file hashes of the releases ``within`` accepts (None: all),
        keeping ``paths`` (None: every public file); returns the versions learned."""
        ...


RELEASE_FILES: Registry[ReleaseFiles] = Registry("release-files", builtins=("sitekeeper.cms",))


@runtime_checkable
class ReleaseArchives(Protocol):
    """A CMS whose vendor publishes no per-file list but signs or digests each release
    archive: the integrity scan compares core with every file of that archive."""

    async def release_tree(self, learner: Learner, version: str) -> dict[str, str] | None:
        """MD5 of every file of ``version``'s release archive, as docroot paths, after
        checking the archive against the vendor's digest (InvalidFeed if it does not
        match); None if the vendor lists no such release."""
        ...
