"""Journal event kinds of backups: their own vocabulary, kept beside ``domain.events``.

Reports count backups, failures and drills from these; never rename a stored kind.
"""

from __future__ import annotations

from enum import StrEnum


class BackupEventKind(StrEnum):
    """What happened to a site's backups."""

    BACKUP_TAKEN = "backup.taken"
    BACKUP_FAILED = "backup.failed"
    BACKUP_INTERRUPTED = "backup.interrupted"  # its process died; found at the next start
    BACKUP_PRUNED = "backup.pruned"
    BACKUP_RESTORED = "backup.restored"
    RESTORE_FAILED = "backup.restore_failed"
    BACKUP_VERIFIED = "backup.verified"
    BACKUP_VERIFICATION_FAILED = "backup.verification_failed"
    # What became of a removed site's snapshots: kept under its restic host, or deleted.
    BACKUPS_KEPT = "backup.kept"
    BACKUPS_PURGED = "backup.purged"
