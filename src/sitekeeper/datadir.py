"""The data directory is private: it holds every client's journal, password hashes and keys.

New installs create it 0700; an existing one is tightened at start (the directory
and its entries lose every group and other permission) with a warning naming
what changed. Entries are not walked further: a 0700 directory already closes
everything below it, and the backup and restore trees can hold millions of files.
SQLite creates its -wal and -shm files with the database file's mode, so the
database is created 0600 before SQLite first opens it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private(home: Path) -> list[str]:
    """Create ``home`` 0700, or tighten it and its entries; returns what was changed."""
    if not home.exists():
        home.mkdir(parents=True, mode=0o700)
        home.chmod(0o700)  # mkdir's mode is filtered by the umask; make it exact
        return []
    with os.scandir(home) as entries:
        paths = [home] + [Path(entry.path) for entry in entries if not entry.is_symlink()]
    return tighten(paths)


def tighten(paths: list[Path]) -> list[str]:
    """Drop group/other permissions of each existing path; returns what was changed."""
    return [change for path in paths if path.exists() and (change := _tighten(path))]


def _tighten(path: Path) -> str:
    """Drop group/other permissions of ``path``; what changed, or '' if nothing did."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & _OTHERS:
            return ""
        path.chmod(mode & ~_OTHERS)
    except OSError as exc:  # not ours (another owner), or gone meanwhile
        log.warning("cannot make %s private: %s", path, exc.strerror or exc)
        return ""
    return f"{path} ({mode:04o} -> {mode & ~_OTHERS:04o})"


def secure(home: Path) -> None:
    """Make ``home`` private, with a WARNING if an existing install had to be fixed."""
    warn_changed(make_private(home))


def warn_changed(changed: list[str]) -> None:
    """One WARNING naming every path :func:`tighten` changed (none: silent)."""
    if changed:
        log.warning(
            "data readable by other users; made private: %s",
            ", ".join(changed),
        )


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then it is left alone)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
