"""A real site's state as a rollback must restore it: its files and its database.

Files: every entry's path, kind, mode, owner and group, and a regular file's SHA-256 (a
link's target). Database: every table's rows, except what merely visiting the site
rewrites — WordPress's transients and its ``cron`` option (the health checks' page loads
change them) — compared by checksum (``CHECKSUM TABLE``) or, for the options table, row
by row so a difference names the option.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from tests.updates.breakage import root_sql

OPTIONS = "wp_options"
VOLATILE_OPTIONS = (
    "option_name NOT LIKE '\\_transient\\_%' AND option_name NOT LIKE '\\_site\\_transient\\_%' "
    "AND option_name <> 'cron'"
)


def tree_state(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root`` by relative path: (kind, mode, uid, gid, sha256/target)."""
    found: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            info = path.lstat()
            owner = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", *owner, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("dir", *owner)
            else:
                found[rel] = ("file", *owner, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def db_state(site: dict[str, Any]) -> dict[str, str]:
    """Every table's checksum (the options table: each option but transients and cron)."""
    tables = root_sql(site, "SHOW TABLES").split()
    others = [t for t in tables if t != OPTIONS]
    sums = root_sql(site, "CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in others))
    state = {
        line.split("\t")[0].split(".", 1)[1]: line.split("\t")[1] for line in sums.splitlines()
    }
    rows = root_sql(
        site,
        f"SELECT option_name, MD5(option_value), autoload FROM {OPTIONS} "
        f"WHERE {VOLATILE_OPTIONS} ORDER BY option_name",
    )
    for line in rows.splitlines():
        name, digest, autoload = line.split("\t")
        state[f"{OPTIONS}:{name}"] = f"{digest} {autoload}"
    return state


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """What differs, by key: (before, after), None where one side has no such key."""
    keys = sorted(set(before) | set(after))
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}
