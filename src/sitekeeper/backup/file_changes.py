"""Which of a site's files its last two backups saw change: the integrity scan's second
signal (a file whose content changed between backups while the scan's size/mtime/ctime
stamp stayed the same was changed with its timestamps reset).

Read from the local restic repository (``restic diff``), no SSH: the backups already
moved the files. Paths come from the client's server; they are kept as data (bytes
relative to the docroot) and never reach a shell or the file system here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sitekeeper.backup.restic import Restic
from sitekeeper.backup.runner import FILES

CONTENT = frozenset({"M", "+", "T"})  # the bytes (or the kind) of the entry changed
MAX_CHANGES = 100_000


@dataclass(frozen=True, slots=True)
class BackupPair:
    """The site's two newest snapshots (ids and when they were taken)."""

    older: str
    newer: str
    older_at: datetime
    newer_at: datetime


@dataclass(slots=True)
class BackupChanges:
    """Files (relative to the docroot) whose content the two backups saw change."""

    pair: BackupPair
    changed: set[bytes] = field(default_factory=set)
    removed: int = 0
    truncated: bool = False


async def changed_between(restic: Restic, pair: BackupPair) -> BackupChanges:
    """The docroot's files whose content differs between ``pair``'s snapshots (the
    database dump and metadata-only changes left out)."""
    diff = await restic.diff(pair.older, pair.newer, limit=MAX_CHANGES)
    found = BackupChanges(pair, truncated=diff.truncated)
    prefix = f"/{FILES}/"
    for path, modifier in diff.changes:
        if not path.startswith(prefix) or path.endswith("/"):
            continue
        if modifier in CONTENT:
            found.changed.add(path.removeprefix(prefix).encode("utf-8", errors="surrogateescape"))
        elif modifier == "-":
            found.removed += 1
    return found
