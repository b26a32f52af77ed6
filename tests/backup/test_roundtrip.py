"""The real-site story: back wp2 up, damage it, restore elsewhere and in place, drill it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sitekeeper.backup.drill import drill
from sitekeeper.backup.restore import restore_in_place, restore_to
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.tables import Event
from tests.backup.conftest import (
    add_wp_site,
    load_dump,
    mysql_as,
    root_checksums,
    table_checksums,
    tree_digest,
)


def _damage(site: dict[str, Any]) -> None:
    """What a bad update or an editor's mistake does: posts changed and deleted, files too."""
    mysql_as(
        site,
        "UPDATE wp_posts SET post_title = 'DEFACED', post_content = 'gone' "
        "WHERE post_type = 'post'",
    )
    mysql_as(site, "DELETE FROM wp_posts WHERE post_type = 'page'")
    # a table the snapshot does not hold (an update's, an intruder's): a restore drops it
    mysql_as(site, "CREATE TABLE wp_sk_added (id INT PRIMARY KEY)")
    docroot = Path(site["docroot"])
    (docroot / "wp-content/plugins/akismet/readme.txt").unlink()
    with (docroot / "index.php").open("a") as f:
        f.write("\n// injected\n")
    added = docroot / "sk-added.php"
    added.write_text("<?php echo 'x';")
    subprocess.run(["chown", "wp2:wp2", str(added)], check=True)


async def test_backup_damage_restore_and_drill_wp2(
    bctx: BackupContext, wp2_guard: dict[str, Any], tmp_path: Path, scratch_db: str
) -> None:
    site = wp2_guard
    add_wp_site(bctx.db, bctx.vault, site)
    docroot = Path(site["docroot"])
    files_before = tree_digest(docroot)
    db_before = table_checksums(site)

    taken = await backup_site(bctx, "wp2")
    assert taken.ok, taken.error
    assert taken.figures is not None
    assert taken.figures.files >= len([v for v in files_before.values() if v[0] == "file"])
    assert taken.figures.bytes_added > 1_000_000
    assert taken.figures.database_bytes > 10_000

    _damage(site)
    assert tree_digest(docroot) != files_before
    assert table_checksums(site) != db_before

    # 1. To a new location on the sitekeeper host: byte-identical files and database.
    target = tmp_path / "restored"
    restored = await restore_to(bctx, "wp2", target)
    assert restored.snapshot.startswith(taken.figures.snapshot_id)
    assert tree_digest(target / "files") == files_before
    load_dump(target / "database.sql", scratch_db)
    assert root_checksums(scratch_db) == db_before
    assert b"--password" not in (target / "database.sql").read_bytes()[:4096]

    # 2. In place: a safety snapshot of the damaged state first, then the site is back.
    back = await restore_in_place(bctx, "wp2", taken.figures.snapshot_id)
    assert back.safety_snapshot is not None
    assert tree_digest(docroot) == files_before
    assert table_checksums(site) == db_before  # every table, so wp_sk_added is gone
    safety = tmp_path / "safety"
    await restore_to(bctx, "wp2", safety, back.safety_snapshot)
    assert (safety / "files/sk-added.php").exists()  # the damaged state was kept

    # 3. A drill on the snapshot: served from a sandbox, the real title, no PHP errors.
    result = await drill(bctx, "wp2", taken.figures.snapshot_id)
    assert result.ok, result.detail
    assert "Realsites WordPress wp2" in result.detail
    assert result.figures["home_status"] == 200

    with bctx.db.session() as s:
        events = s.scalars(select(Event).order_by(Event.id))
        kinds = [e.kind for e in events if e.kind.startswith("backup.")]
        run = s.scalar(select(BackupRun).where(BackupRun.reason == "manual"))
        assert run is not None
        assert run.verified is True
    assert kinds == [
        "backup.taken",
        "backup.restored",
        "backup.taken",
        "backup.restored",
        "backup.restored",
        "backup.verified",
    ]
