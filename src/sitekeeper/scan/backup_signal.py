"""The backups' view checked against the scan's (pure): a file whose content the last two
backups saw change, while the scan found its size, mtime and ctime as the previous scan
left them and its bytes different, was changed with its timestamps reset -- the walk's
"unchanged by its stamp" was fooled (a forged ctime: network file systems let a client
set it). The other way round, the counts go in the report as a cross-check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sitekeeper.domain.integrity import IntegrityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.scan.manifest import FileRecord, shown_path


@dataclass(slots=True)
class BackupCheck:
    """What the backups' changes told this scan."""

    changed: int = 0  # files whose content the two backups saw change
    rehashed: int = 0  # of those, found in the previous manifest and so read again
    reset: int = 0  # of those, changed in content while their stamp had stayed
    gone: int = 0  # of those, no longer on the site
    issues: list[IntegrityIssue] = field(default_factory=list)

    def note(self, older: str, newer: str) -> str:
        """The report's line about the cross-check."""
        return (
            f"backups {older} -> {newer}: {self.changed} file(s) changed, {self.rehashed} "
            f"read again by the scan, {self.reset} with timestamps reset, {self.gone} gone"
        )


def reset_stamps(
    files: Mapping[bytes, FileRecord],
    previous: Mapping[bytes, FileRecord],
    changed: Collection[bytes],
) -> BackupCheck:
    """Compare the backups' changed files with this walk (which read them again)."""
    check = BackupCheck(changed=len(changed))
    for path in sorted(changed):
        now, before = files.get(path), previous.get(path)
        if now is None:
            check.gone += 1
            continue
        if before is None or before.kind != "file" or now.kind != "file":
            continue
        check.rehashed += 1
        if now.stamp != before.stamp or now.sha256 is None or now.sha256 == before.sha256:
            continue  # the stamp moved (the walk saw it anyway), or the bytes are the same
        check.reset += 1
        check.issues.append(
            IntegrityIssue(
                "stamp-reset", path, Severity.HIGH,
                f"changed with its timestamps reset: the backups saw its content change, "
                f"its size, mtime and ctime did not: {shown_path(path)}",
                "Someone hid this change: compare the file with the older backup, restore "
                "it if it is not yours, and look for how they got in",
                now.sha256,
            )
        )  # fmt: skip
    return check
