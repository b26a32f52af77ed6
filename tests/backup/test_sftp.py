"""An SFTP repository: restic over OpenSSH with our key and known_hosts only.

The realsites sshd stands in for a storage box: the repository goes to a
scratch directory under /tmp on it, as the wp2 user (nothing in a docroot).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from sitekeeper.backup import repository
from sitekeeper.backup.repository import RepositoryConfig
from sitekeeper.backup.restore import restore_to
from sitekeeper.backup.runner import BackupContext, backup_site
from tests.backup.conftest import add_wp_site, tree_digest


async def test_backup_and_restore_over_sftp(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    wp1, wp2 = real_wp_sites[0], real_wp_sites[1]
    remote = Path(f"/tmp/sk-sftp-repo-{tmp_path.name}")
    config = RepositoryConfig(
        kind="sftp",
        location=f"wp2@127.0.0.1:{remote}",
        sftp_port=wp2["ssh"]["port"],
        sftp_key_path=wp2["ssh"]["key"],
        sftp_known_hosts=wp2["ssh"]["known_hosts"],
    )
    with bctx.db.session() as s:
        repository.configure(s, bctx.vault, config, client_id=None, now=bctx.clock())
    add_wp_site(bctx.db, bctx.vault, wp1)
    try:
        taken = await backup_site(bctx, "wp1")
        assert taken.ok, taken.error
        assert (remote / "config").is_file()
        assert os.stat(remote).st_uid != 0  # written by the SFTP user, not by us locally
        await restore_to(bctx, "wp1", tmp_path / "out")
        assert tree_digest(tmp_path / "out/files") == tree_digest(Path(wp1["docroot"]))
    finally:
        shutil.rmtree(remote, ignore_errors=True)
