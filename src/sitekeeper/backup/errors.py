"""The backup feature's error: a SitekeeperError, so the CLI and runner handle it as any other.

Kept here (not in ``errors.py``) so the feature stays one slice; it slots
under ``SitekeeperError`` with the same ``permanent`` contract.
"""

from __future__ import annotations

from sitekeeper.errors import SitekeeperError


class BackupError(SitekeeperError):
    """A backup, restore or drill step failed; nothing stored earlier was touched.

    Transient by default (a dropped connection, a full disk, a busy lock):
    the next scheduled run tries again.
    """

    permanent = False


class RepositoryLocked(BackupError):
    """restic found a lock it must not ignore; a stale one is cleared with ``restic unlock``."""
