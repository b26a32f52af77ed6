"""A hacked client server's backup replayed by a drill or a restore reaches nothing else.

The snapshots are built as a hostile server could have made them (see
``crafted``) and stored under a site's own restic host; the drill and the
in-place restore then run for real: restic, MariaDB, php, bubblewrap.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.drill import drill
from sitekeeper.backup.dumps import MysqlDump
from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.restore import restore_in_place
from sitekeeper.backup.runner import BackupContext
from sitekeeper.backup.scratchdb import ScratchDatabase
from sitekeeper.cms.db_credentials import DbCredentials
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.tables import Event
from tests.backup.conftest import add_wp_site, tree_digest
from tests.backup.crafted import (
    TITLE,
    Link,
    build_tree,
    dump,
    mysql_root,
    processes_with,
    site_files,
    store_snapshot,
)


@pytest.fixture
def victim() -> Iterator[str]:
    """Another client's database on the same MariaDB, with one row to watch."""
    name = f"sk_victim_{os.getpid()}_{os.urandom(3).hex()}"
    mysql_root(f"CREATE DATABASE `{name}`; CREATE TABLE `{name}`.t (a TEXT);")
    mysql_root(f"INSERT INTO `{name}`.t VALUES ('precious')")
    yield name
    mysql_root(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def hostile(bctx: BackupContext, real_wp_sites: list[dict[str, Any]]) -> str:
    """A site record whose snapshots the tests craft (its SSH access is never used)."""
    add_wp_site(bctx.db, bctx.vault, real_wp_sites[0], name="hostile")
    return "hostile"


def _user_exists(user: str) -> bool:
    return bool(mysql_root(f"SELECT 1 FROM mysql.user WHERE user = '{user}'").strip())


HOSTILE_LINES = [
    ("\\! touch {marker}", "client command \\!"),
    ("system touch {marker}", "client command 'system'"),
    ("tee {marker}", "client command 'tee'"),
    ("GRANT ALL ON *.* TO '{user}'@'%' IDENTIFIED BY 'x' WITH GRANT OPTION;", "GRANT statement"),
    ("DROP DATABASE `{victim}`;", "DROP DATABASE statement"),
]


@pytest.mark.parametrize(("line", "finding"), HOSTILE_LINES)
async def test_a_hostile_dump_fails_the_drill_and_runs_nothing(
    bctx: BackupContext, hostile: str, victim: str, tmp_path: Path, line: str, finding: str
) -> None:
    marker = tmp_path / "pwned.txt"
    user = f"sk_evil_{os.urandom(3).hex()}"
    text = line.format(marker=marker, user=user, victim=victim)
    tree = build_tree(tmp_path / "crafted", site_files(), dump(text, sandbox_line=False))
    await store_snapshot(bctx, hostile, tree)

    result = await drill(bctx, hostile)

    assert not result.ok
    assert result.detail.startswith("the database dump was refused: line 12: " + finding)
    assert not marker.exists()  # nothing ran on this host
    assert mysql_root(f"SELECT a FROM `{victim}`.t").split() == ["precious"]
    assert not _user_exists(user)
    with bctx.db.session() as s:
        failed = s.scalar(select(Event).where(Event.kind == "backup.verification_failed"))
    assert failed is not None and finding in failed.data["detail"]


@pytest.mark.parametrize(("line", "finding"), HOSTILE_LINES)
async def test_without_the_scanner_the_loader_still_runs_nothing(
    bctx: BackupContext,
    real_wp_sites: list[dict[str, Any]],
    victim: str,
    tmp_path: Path,
    line: str,
    finding: str,
) -> None:
    """The second wall: the dump loaded as the scratch user with client commands off."""
    marker = tmp_path / "pwned.txt"
    user = f"sk_evil_{os.urandom(3).hex()}"
    hostile_dump = tmp_path / "database.sql"
    hostile_dump.write_bytes(
        dump(line.format(marker=marker, user=user, victim=victim), sandbox_line=False)
    )
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    scratch = ScratchDatabase(bctx.settings, work, "t")
    await scratch.create()
    try:
        fd = os.open(hostile_dump, os.O_RDONLY)
        try:
            with pytest.raises(BackupError, match="loading the dump: mysql failed"):
                await scratch.load(fd)
        finally:
            os.close(fd)
    finally:
        await scratch.drop()
    assert not marker.exists()
    assert mysql_root(f"SELECT a FROM `{victim}`.t").split() == ["precious"]
    assert not _user_exists(user)
    assert not _user_exists(scratch.user)  # dropped afterwards


async def test_a_symlinked_wp_config_is_refused_and_its_target_untouched(
    bctx: BackupContext, hostile: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside" / "secret.php"
    outside.parent.mkdir()
    outside.write_bytes(b"<?php // not the site's; must stay as it is\n")
    before = outside.read_bytes(), outside.stat().st_mtime_ns, outside.stat().st_uid
    files = site_files(**{"wp-config.php": Link(str(outside))})
    await store_snapshot(bctx, hostile, build_tree(tmp_path / "crafted", files, dump()))

    result = await drill(bctx, hostile)

    assert not result.ok
    assert "wp-config.php in the snapshot is a symbolic link" in result.detail
    assert str(outside) in result.detail
    assert (outside.read_bytes(), outside.stat().st_mtime_ns, outside.stat().st_uid) == before


async def test_devices_and_set_uid_files_never_reach_the_sandbox(
    bctx: BackupContext, hostile: str, tmp_path: Path
) -> None:
    tree = build_tree(tmp_path / "crafted", site_files(), dump())
    setuid = tree / "files" / "helper"
    setuid.write_bytes(b"#!/bin/sh\n")
    setuid.chmod(0o4755)
    os.mknod(tree / "files" / "disk", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(tree / "files" / "pipe")
    await store_snapshot(bctx, hostile, tree)

    result = await drill(bctx, hostile)

    assert result.ok, result.detail
    assert result.figures["special_files_removed"] == 2
    assert result.figures["setid_bits_cleared"] == 1
    assert result.figures["sandbox"].startswith("bubblewrap, PHP ran as sitekeeper-drill")


PROBE = b"""<?php
require __DIR__ . '/wp-config.php';
[$host, $port] = explode(':', DB_HOST);
$db = new mysqli($host, DB_USER, DB_PASSWORD, DB_NAME, (int) $port);
$seen = 0;
foreach ($db->query('SHOW DATABASES')->fetch_all() as [$name]) {
    if ($name !== 'information_schema') { $seen++; }
}
$secret = @file_get_contents(SECRET) === false ? 'none' : 'read';
$srv = is_dir('/srv/sites') ? 'srv' : 'nosrv';
$root = @scandir('/root') === false ? 'noroot' : 'root';
$uid = posix_geteuid() === 0 ? 'uid0' : 'user';
exec('setsid -f sleep ' . MARK . ' > /dev/null 2>&1 < /dev/null', $out, $status);
$fork = $status === 0 ? 'forked' : 'noexec';
echo "<html><head><title>probe:$secret:$srv:$root:$uid:db$seen:$fork</title></head></html>";
"""


async def test_the_sandbox_sees_nothing_of_the_host_and_is_killed_whole(
    bctx: BackupContext, hostile: str, tmp_path: Path
) -> None:
    """The restored site's PHP: not root, no data directory, no other sites, no /root, one
    database; a process it starts in a new session is gone when the drill returns."""
    secret = bctx.settings.home / "world-readable.txt"
    secret.write_text("the data directory\n")
    secret.chmod(0o644)
    mark = f"86399.{os.getpid()}{secrets.randbelow(10**6):06d}"  # sleep's unique argument
    config = site_files()["wp-config.php"]
    assert isinstance(config, bytes)
    config += f"define('SECRET', '{secret}');\ndefine('MARK', '{mark}');\n".encode()
    files = site_files(**{"index.php": PROBE, "wp-config.php": config})
    await store_snapshot(bctx, hostile, build_tree(tmp_path / "crafted", files, dump()))

    result = await drill(bctx, hostile, expected_title="probe:none:nosrv:noroot:user:db1:forked")

    assert result.ok, result.detail
    assert processes_with(mark) == []


async def test_without_bubblewrap_php_still_runs_unprivileged_and_says_so(
    bctx: BackupContext, hostile: str, tmp_path: Path
) -> None:
    bctx.settings.drill_sandbox = ""
    page = b"<?php echo '<title>' . (posix_geteuid() === 0 ? 'uid0' : 'user') . '</title>';\n"
    files = site_files(**{"index.php": page})
    await store_snapshot(bctx, hostile, build_tree(tmp_path / "crafted", files, dump()))

    result = await drill(bctx, hostile, expected_title="user")

    assert result.ok, result.detail
    assert result.figures["sandbox"].startswith("no sandbox: off; PHP ran as sitekeeper-drill")


async def test_a_normal_crafted_site_passes(
    bctx: BackupContext, hostile: str, tmp_path: Path
) -> None:
    """The crafted site itself is a good site: the failures above are the hostile parts."""
    await store_snapshot(bctx, hostile, build_tree(tmp_path / "crafted", site_files(), dump()))
    result = await drill(bctx, hostile)
    assert result.ok, result.detail
    assert TITLE in result.detail


async def test_an_in_place_restore_refuses_a_hostile_dump_before_touching_the_site(
    bctx: BackupContext, wp2_guard: dict[str, Any], victim: str, tmp_path: Path
) -> None:
    site = wp2_guard
    add_wp_site(bctx.db, bctx.vault, site)
    before = tree_digest(Path(site["docroot"]))
    marker = tmp_path / "pwned.txt"
    hostile_dump = dump(f"\\! touch {marker}", sandbox_line=False)
    snapshot = await store_snapshot(
        bctx, "wp2", build_tree(tmp_path / "crafted", site_files(), hostile_dump)
    )

    with pytest.raises(BackupError, match="the database dump was refused: line 12: client"):
        await restore_in_place(bctx, "wp2", snapshot)

    assert not marker.exists()
    assert tree_digest(Path(site["docroot"])) == before
    with bctx.db.session() as s:
        assert list(s.scalars(select(BackupRun))) == []  # not even the safety snapshot
        failed = s.scalar(select(Event).where(Event.kind == "backup.restore_failed"))
    assert failed is not None and "refused" in failed.data["error"]


def test_the_remote_load_disables_client_commands() -> None:
    creds = DbCredentials("wp2", "wp2", "pw", "127.0.0.1", 3306, None, "wp_")
    argv = MysqlDump.load_argv("/tmp/x/client.cnf", creds)
    assert argv[:3] == ["mysql", "--defaults-extra-file=/tmp/x/client.cnf", "--binary-mode"]
    assert "--local-infile=0" in argv
