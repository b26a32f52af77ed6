"""The backups as the integrity scan's second signal, on the real wp2 with two real restic
backups: a theme file changed and its mtime set back (same size) is found as "changed with
its timestamps reset"; an ordinary change is not; both are late changes of code until the
journal explains them. wp2 is put back exactly afterwards (the ``wp2`` fixture).

A real kernel moves a file's ctime on every change, so on the realsites the walk alone
already sees this edit. Where ctime can be forged (network file systems let a client set
it), the walk's stamp stays what the previous scan stored: the test stands for that server
by writing the file's new ctime into the stored manifest, as such a walk would have seen.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.config import Settings
from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.integrity import INTEGRITY
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.scan.manifest import encode_manifest, read_manifest
from sitekeeper.store import clients, journal, sites
from sitekeeper.store.database import Database
from sitekeeper.store.detection_tables import SiteFileManifest
from tests.realsites import real_wp_sites, stored_ssh
from tests.scan.test_integrity_wp2 import DOCROOT, _core_checksums, _findings, api, wp2
from tests.store.factories import VAULT
from tests.updates.vendor import Vendor

__all__ = ["api", "real_wp_sites", "wp2"]
pytestmark = pytest.mark.realsites
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
THEME = DOCROOT / "wp-content" / "themes" / "twentytwentyone" / "functions.php"
OTHER = DOCROOT / "wp-content" / "themes" / "twentytwentytwo" / "functions.php"
THEME_KEY = "wp-content/themes/twentytwentyone/functions.php"
OTHER_KEY = "wp-content/themes/twentytwentytwo/functions.php"


def _forge_ctime(db: Database, site_id: int, path: Path) -> None:
    """The stored manifest as a walk on a server with a forged ctime would have left it."""
    key = path.relative_to(DOCROOT).as_posix().encode()
    with db.session() as session:
        row = session.get(SiteFileManifest, site_id)
        assert row is not None
        stored = read_manifest(row.manifest)
        before = stored.files[key]
        stored.files[key] = type(before)(
            before.path, before.kind, before.size, before.mtime, int(path.stat().st_ctime),
            before.mode, before.sha256, before.md5,
        )  # fmt: skip
        row.manifest = encode_manifest(stored.files.values(), stored.baseline)


async def test_a_change_with_timestamps_reset_is_found_through_the_backups(
    db: Database, tmp_path: Path, wp2: dict[str, Any], api: Vendor
) -> None:
    api.add("/core/checksums/6.1.9", _core_checksums(wp2["pristine"]))
    home = tmp_path / "home"
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Integrity", now=NOW)
        site_id = sites.add_site(
            session,
            sites.SiteFields(
                url=wp2["url"], client=owner, name="wp2",
                ssh=stored_ssh(session, VAULT, owner, wp2),
            ),
            NOW,
            default_interval=300,
        ).id  # fmt: skip
    jobs = IntelJobs(db, Settings(home=home), feeds=FeedSettings(vendor=api.settings), vault=VAULT)
    bctx = BackupContext(db=db, vault=VAULT, settings=BackupSettings(home=home))
    await jobs.inventory_site("wp2")
    first, _ = await jobs.scan_site("wp2")
    assert first.backups is None  # no backups yet: nothing to cross-check
    assert (await backup_site(bctx, "wp2")).ok

    # The hack: same size, mtime set back; and an ordinary edit beside it.
    stat = THEME.stat()
    original = THEME.read_bytes()
    THEME.write_bytes(original.replace(b"<?php", b"<?PHP", 1))
    OTHER.write_bytes(OTHER.read_bytes() + b"\n// edited\n")
    assert (await backup_site(bctx, "wp2")).ok  # the backups see both
    os.utime(THEME, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert THEME.stat().st_size == stat.st_size
    _forge_ctime(db, site_id, THEME)

    hacked, _ = await jobs.scan_site("wp2")
    assert hacked.backups is not None
    assert (hacked.backups["changed"], hacked.backups["reset"]) == (2, 1)
    assert hacked.commands == 2  # read again in the walk's one pass; then YARA's fetch
    found = _findings(db, site_id)
    assert found[(INTEGRITY, "stamp-reset", THEME_KEY)] == "high"
    assert (INTEGRITY, "stamp-reset", OTHER_KEY) not in found  # its stamp moved: no trick
    # Both are code changed after the first scan that no journal entry explains.
    assert found[(INTEGRITY, "changed-late", THEME_KEY)] == "medium"
    assert found[(INTEGRITY, "changed-late", OTHER_KEY)] == "medium"
    [late] = [
        i for i in hacked.issues if i.check == "changed-late" and i.path == THEME_KEY.encode()
    ]
    assert "set back" in late.title

    # No new backup since: the reset finding stays (nothing has checked it again).
    await jobs.scan_site("wp2")
    assert (INTEGRITY, "stamp-reset", THEME_KEY) in _findings(db, site_id)

    # Put back by a restore the journal records, then backed up: everything resolves.
    THEME.write_bytes(original)
    os.utime(THEME, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    OTHER.write_bytes((wp2["pristine"] / OTHER.relative_to(DOCROOT)).read_bytes())
    with db.session() as session:
        journal.record(
            session, BackupEventKind.BACKUP_RESTORED, site_id=site_id, data={},
            ts=datetime.now(UTC),
        )  # fmt: skip
    assert (await backup_site(bctx, "wp2")).ok
    cleaned, _ = await jobs.scan_site("wp2")
    assert cleaned.backups is not None and cleaned.backups["reset"] == 0
    assert _findings(db, site_id) == {}
