"""rsync over pinned SSH: incremental, excludes, and a wrong host key stops everything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.mirror import SshTransport, parse_stats, pull
from sitekeeper.backup.options import DEFAULT_EXCLUDES
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.errors import HostKeyChanged
from sitekeeper.remote.hostkeys import StoreHostKeyPins, openssh_key
from sitekeeper.remote.keys import write_key_file
from tests.backup.conftest import tree_digest
from tests.realsites import private_key, ssh_access

STATS = """
Number of files: 2,917 (reg: 2,500, dir: 417)
Number of created files: 0
Number of regular files transferred: 12
Total file size: 66,264,080 bytes
Total transferred file size: 1,234 bytes
Total bytes sent: 1,024
Total bytes received: 80,133
"""


def test_parse_stats() -> None:
    stats = parse_stats(STATS)
    assert stats.files == 2917
    assert stats.files_transferred == 12
    assert stats.total_size == 66_264_080
    assert stats.network_bytes == 81_157


def _real_key() -> str:
    line = Path("/srv/sites/keys/known_hosts").read_text().split("\n")[0]
    return " ".join(line.split()[1:3])


async def test_second_pull_moves_almost_nothing(
    real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    wp1 = real_wp_sites[0]
    transport = SshTransport(
        ssh_access(wp1),
        _real_key(),
        tmp_path / "known_hosts",
        key_file=write_key_file(tmp_path / "keys", private_key(wp1)),
    )
    transport.write_known_hosts()
    first = await pull(transport, wp1["docroot"], tmp_path / "m", excludes=DEFAULT_EXCLUDES)
    second = await pull(transport, wp1["docroot"], tmp_path / "m", excludes=DEFAULT_EXCLUDES)
    assert first.network_bytes > 30_000_000
    assert second.files_transferred == 0
    assert second.network_bytes < first.network_bytes / 100
    assert tree_digest(tmp_path / "m") == tree_digest(Path(wp1["docroot"]))


async def test_caches_and_backup_folders_are_left_out(
    bctx: BackupContext, wp2_guard: dict[str, Any]
) -> None:
    from tests.backup.conftest import add_wp_site

    docroot = Path(wp2_guard["docroot"])
    for folder in ("wp-content/cache/page", "wp-content/updraft", "wp-content/ai1wm-backups"):
        (docroot / folder).mkdir(parents=True, exist_ok=True)
        (docroot / folder / "big.bin").write_bytes(b"x" * 1000)
    site_id = add_wp_site(bctx.db, bctx.vault, wp2_guard)
    done = await backup_site(bctx, "wp2")
    assert done.ok, done.error
    mirror = bctx.settings.site_dir(site_id) / "files"
    assert (mirror / "wp-content/plugins").is_dir()
    assert not (mirror / "wp-content/cache").exists()
    assert not (mirror / "wp-content/updraft").exists()
    assert not (mirror / "wp-content/ai1wm-backups").exists()


async def test_a_different_host_key_stops_the_transfer(
    real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    impostor = openssh_key(asyncssh.generate_private_key("ssh-ed25519"))
    transport = SshTransport(
        ssh_access(real_wp_sites[0]),
        impostor,
        tmp_path / "known_hosts",
        key_file=write_key_file(tmp_path / "keys", private_key(real_wp_sites[0])),
    )
    transport.write_known_hosts()
    with pytest.raises(BackupError, match="does not match the pinned") as caught:
        await pull(transport, "/srv/sites/wp1", tmp_path / "m", excludes=[])
    assert caught.value.permanent
    assert list((tmp_path / "m").iterdir()) == []


async def test_a_changed_pin_fails_the_backup_before_anything_runs(
    bctx: BackupContext, wp_sites: dict[str, dict[str, Any]]
) -> None:
    impostor = openssh_key(asyncssh.generate_private_key("ssh-ed25519"))
    StoreHostKeyPins(bctx.db).pin("127.0.0.1", 2222, impostor)
    outcome = await backup_site(bctx, "wp1")
    assert not outcome.ok
    assert "host key" in (outcome.error or "").lower()
    assert not (bctx.settings.site_dir(wp_sites["wp1"]["id"]) / "files").exists()
    assert HostKeyChanged.permanent
