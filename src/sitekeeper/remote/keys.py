"""Private keys for tools that only read files (OpenSSH's ``ssh`` under rsync, mysqldump, restic).

asyncssh gets a site's key from memory. ``ssh`` needs a file: it is written
0600 in a 0700 directory inside the data directory, only for as long as the
run needs it, and removed afterwards (also when the run fails). A file left
by a killed process is removed by the next run of the same site
(:func:`remove_stale_keys`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PREFIX = "ssh-key-"


def write_key_file(directory: Path, private_key: str) -> Path:
    """A new 0600 file holding ``private_key`` in ``directory`` (made 0700 if missing).

    Created with ``O_EXCL | O_NOFOLLOW`` under a random name, so nothing that
    already sits in the directory (a file, a symlink) is followed or reused.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(private_key if private_key.endswith("\n") else private_key + "\n")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@contextmanager
def key_file(directory: Path, private_key: str) -> Iterator[Path]:
    """``write_key_file`` for the duration of a ``with`` block, removed after it."""
    path = write_key_file(directory, private_key)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def remove_stale_keys(directory: Path) -> int:
    """Remove key files a killed run left in ``directory``; how many there were."""
    removed = 0
    if directory.is_dir():
        for path in directory.glob(f"{_PREFIX}*"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
