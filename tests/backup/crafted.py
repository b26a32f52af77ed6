"""Snapshots a hacked client server could have produced, stored as a backup of a site would be.

The tests build the tree a backup stores (``files/`` and ``database.sql``),
with whatever a hostile server could have put in it, and store it with restic
under the site's own restic host -- the drill and the restore then find it as
the site's latest snapshot.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sitekeeper.backup.runner import DUMP, FILES, BackupContext


@dataclass(frozen=True)
class Link:
    """A symbolic link in a crafted tree."""

    target: str


Entry = bytes | Link

# A minimal site the drill can serve: it reads its title from the restored database.
INDEX = b"""<?php
require __DIR__ . '/wp-config.php';
[$host, $port] = explode(':', DB_HOST);
$db = new mysqli($host, DB_USER, DB_PASSWORD, DB_NAME, (int) $port);
$row = $db->query("SELECT option_value FROM {$table_prefix}options WHERE option_name = 'blogname'")
    ->fetch_row();
echo '<html><head><title>' . htmlspecialchars($row[0]) . '</title></head><body>ok</body></html>';
"""
CONFIG = b"""<?php
define( 'DB_NAME', 'site' );
define( 'DB_USER', 'site' );
define( 'DB_PASSWORD', 'secret' );
define( 'DB_HOST', 'localhost' );
$table_prefix = 'wp_';
"""
TITLE = "Crafted Site"


def dump(*extra: str, title: str = TITLE, sandbox_line: bool = True) -> bytes:
    """A dump of the minimal site's one table, with ``extra`` lines after it.

    ``sandbox_line``: MariaDB's first line, which puts the client in sandbox mode;
    a hostile server leaves it out.
    """
    lines = [
        *(["/*M!999999\\- enable the sandbox mode */ "] if sandbox_line else []),
        "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB",
        "/*!40101 SET NAMES utf8mb4 */;",
        "DROP TABLE IF EXISTS `wp_options`;",
        "CREATE TABLE `wp_options` (",
        "  `option_name` varchar(191) NOT NULL,",
        "  `option_value` longtext NOT NULL,",
        "  PRIMARY KEY (`option_name`)",
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
        "LOCK TABLES `wp_options` WRITE;",
        f"INSERT INTO `wp_options` VALUES ('blogname','{title}');",
        "UNLOCK TABLES;",
        *extra,
        "-- Dump completed on 2026-03-01 12:00:00",
    ]
    return ("\n".join(lines) + "\n").encode()


def site_files(**overrides: Entry | None) -> dict[str, Entry]:
    """The minimal site's files; ``None`` removes one, names use ``__`` for ``/``."""
    files: dict[str, Entry] = {"index.php": INDEX, "wp-config.php": CONFIG}
    for name, entry in overrides.items():
        path = name.replace("__", "/")
        if entry is None:
            files.pop(path, None)
        else:
            files[path] = entry
    return files


def build_tree(root: Path, files: dict[str, Entry], database: bytes | None) -> Path:
    """``root/files/...`` and ``root/database.sql`` as a backup lays them out."""
    (root / FILES).mkdir(parents=True)
    for name, entry in files.items():
        path = root / FILES / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(entry, Link):
            path.symlink_to(entry.target)
        else:
            path.write_bytes(entry)
    if database is not None:
        (root / DUMP).write_bytes(database)
    return root


async def store_snapshot(ctx: BackupContext, ref: str, tree: Path) -> str:
    """Store ``tree`` as the site's newest snapshot; its id."""
    site = await ctx.site_info(ref)
    restic = ctx.restic(site.repository)
    await restic.ensure_initialized()
    paths = [p for p in (FILES, DUMP) if (tree / p).exists()]
    summary = await restic.backup(
        tree, paths, host=site.restic_host, tags=["sitekeeper", "crafted"]
    )
    return summary.snapshot_id


def mysql_root(sql: str, *, check: bool = True) -> str:
    """SQL as root on the local MariaDB (the test's own view, independent of the code)."""
    done = subprocess.run(
        ["mysql", "-h127.0.0.1", "-uroot", "--batch", "--skip-column-names", "-e", sql],
        capture_output=True,
        text=True,
        check=check,
    )
    return done.stdout


def processes_with(marker: str) -> list[int]:
    """PIDs whose command line holds ``marker`` (what a sandbox must not leave running)."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if needle in cmdline.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found
