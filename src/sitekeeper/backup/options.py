"""Backup settings: excludes, concurrency, bandwidth cap, timeouts, the drill sandbox's database.

Built by the caller (CLI, engine) from ``config.Settings``; defaults suit the
embedded mode and the real-sites test bed (MariaDB root on 127.0.0.1 without
password for scratch databases).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sitekeeper.config import Settings

# Caches and the site's own backup plugins' archives: large, rebuilt or redundant.
# rsync patterns, anchored at the docroot ("/...") where the location is fixed.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    "/wp-content/cache/",
    "/wp-content/et-cache/",
    "/wp-content/litespeed/",
    "/wp-content/upgrade/",
    "/wp-content/updraft/",
    "/wp-content/ai1wm-backups/",
    "/wp-content/backups/",
    "/wp-content/backup-db/",
    "/wp-content/backups-dup-lite/",
    "/wp-content/backups-dup-pro/",
    "/wp-content/uploads/backwpup-*-backups/",
    "/wp-content/uploads/backwpup-*-temp/",
    "/wp-snapshots/",
    "/cache/",
    "/administrator/cache/",
    "/administrator/components/com_akeeba/backup/",
    "/sites/*/files/css/",
    "/sites/*/files/js/",
    "/sites/*/files/php/",
)


class BackupSettings(BaseModel):
    """How backups, restores and drills run on this sitekeeper host."""

    model_config = ConfigDict(extra="forbid")

    home: Path = Field(description="Data directory; mirrors and the default repository live here.")
    excludes: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    concurrency: int = Field(default=4, ge=1, le=256, description="Sites backed up at once.")
    bwlimit_kbps: int = Field(
        default=0,
        ge=0,
        description="Cap on the file transfer in KiB/s (rsync --bwlimit), 0: none. Keeps a "
        "backup or in-place restore from saturating the client server's link.",
    )
    io_timeout: int = Field(default=300, ge=10, description="rsync/ssh silence limit (s).")
    dump_timeout: float = Field(default=3600, gt=0, description="Database dump deadline (s).")
    restic_binary: str = "restic"
    rsync_binary: str = "rsync"
    ssh_binary: str = "ssh"
    drill_db_host: str = "127.0.0.1"
    drill_db_port: int = Field(default=3306, ge=1, le=65535)
    drill_db_user: str = "root"
    drill_db_password: str | None = None
    drill_php: str = "php"
    drill_run_as: str | None = Field(
        default="sitekeeper-drill",
        description="Unix user the restored site's PHP runs as when sitekeeper is root "
        "(never root; ``nobody`` if the default user does not exist).",
    )
    drill_sandbox: str = Field(
        default="bwrap",
        description="bubblewrap, which isolates a drill's PHP; empty: none (the user only).",
    )
    drill_timeout: float = Field(default=60, gt=0, description="Home-page request deadline (s).")
    manual_keep_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days manual and safety snapshots are kept whatever the plan's retention "
        "says (then they go); 0: the plan's retention applies to them as to scheduled ones.",
    )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> BackupSettings:
        """The backup settings an operator set (``SITEKEEPER_*`` in config.py)."""
        values: dict[str, Any] = {
            "home": settings.home,
            "concurrency": settings.backup_concurrency,
            "bwlimit_kbps": settings.backup_bwlimit_kbps,
            "drill_db_host": settings.drill_db_host,
            "drill_db_port": settings.drill_db_port,
            "drill_db_user": settings.drill_db_user,
            "drill_db_password": settings.drill_db_password,
            "drill_run_as": settings.drill_run_as or None,
            "manual_keep_days": settings.manual_backup_keep_days,
        }
        if settings.backup_excludes is not None:
            values["excludes"] = settings.backup_excludes
        return cls(**{**values, **overrides})

    @property
    def work_dir(self) -> Path:
        """Per-site mirrors (``sites/<id>/files``) and scratch space."""
        return self.home / "backups"

    def site_dir(self, site_id: int) -> Path:
        """The staging directory of one site: its file mirror, dump and lock."""
        return self.work_dir / "sites" / str(site_id)
