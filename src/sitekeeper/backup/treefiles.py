"""Files of a restored tree, read and written without ever following a link out of it.

A restored tree is the client's site as backed up: a hacked site can hold
``wp-config.php -> /etc/…`` or a directory link pointing anywhere, device
nodes, fifos and set-uid files. sitekeeper (often root) only touches such a
tree through file descriptors: each path component is opened with
``O_NOFOLLOW`` relative to its parent directory's descriptor, and a link
anywhere on the way is refused, not followed. Before restored code runs, the
tree is handed to the unprivileged user with everything but plain files,
directories and links removed and no set-uid/set-gid/sticky bit left.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sitekeeper.backup.errors import BackupError
from sitekeeper.domain.untrusted import shown

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeTree(BackupError):
    """The restored tree holds a link (or other non-file) where a file was expected."""

    permanent = True


@contextlib.contextmanager
def opened_dir(path: Path, *, under: int | None = None) -> Iterator[int]:
    """A directory descriptor of ``path`` (relative to ``under``), never through a link."""
    fd = _open_component(str(path), _DIR_FLAGS, under, path.name or str(path))
    try:
        yield fd
    finally:
        os.close(fd)


def _open_component(name: str, flags: int, parent: int | None, shown_as: str) -> int:
    try:
        return os.open(name, flags, dir_fd=parent)
    except OSError as exc:
        if parent is not None and _is_link(parent, name):
            target = os.readlink(name, dir_fd=parent)
            raise UnsafeTree(
                f"{shown_as} in the snapshot is a symbolic link (to {shown(target, 120)!r}); "
                "links in a restored tree are never followed"
            ) from None
        raise UnsafeTree(f"cannot open {shown_as} in the restored tree: {exc.strerror}") from None


def _is_link(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_file(root: int, relative: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """A descriptor of the regular file ``relative`` under the directory ``root``.

    Every directory on the way and the file itself are opened without
    following links; anything but a regular file at the end is refused.
    """
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..", "/") for p in parts):
        raise ValueError(f"not a plain relative path: {relative!r}")
    fd, opened = root, []
    try:
        for index, part in enumerate(parts[:-1]):
            fd = _open_component(part, _DIR_FLAGS, fd, "/".join(parts[: index + 1]))
            opened.append(fd)
        flags |= os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a fifo must not hang us
        result = _open_component(parts[-1], flags, fd, relative)
    finally:
        for each in opened:
            os.close(each)
    if not stat.S_ISREG(os.fstat(result).st_mode):
        os.close(result)
        raise UnsafeTree(f"{relative} in the snapshot is not a regular file")
    os.set_blocking(result, True)
    return result


def read_file(root: int, relative: str, limit: int) -> bytes:
    """Up to ``limit`` bytes of a file in the tree (never through a link)."""
    fd = open_file(root, relative)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def write_file(root: int, relative: str, data: bytes) -> None:
    """Replace the content of an existing regular file in the tree (never through a link)."""
    fd = open_file(root, relative, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass
class HandOver:
    """What preparing a tree for restored code changed."""

    entries: int = 0
    removed: int = 0  # device nodes, fifos, sockets
    setid_cleared: int = 0


def hand_over(root: Path, uid: int | None, gid: int | None) -> HandOver:
    """Make ``root`` safe to give to restored code, and give it to ``uid``:``gid``.

    Devices, fifos and sockets are removed (a device node from a hostile
    snapshot, given to the sandbox user, would be a way to the host's disks);
    set-uid, set-gid and sticky bits are cleared; links are re-owned, never
    followed. Given to a user (a drill's PHP), the owner can also read and
    write everything; without one (a restore), every other mode bit stays as
    backed up, so a read-only ``sites/default`` goes back read-only. Nothing
    else runs in the tree meanwhile, so the kind seen is the kind changed.
    """
    done = HandOver()
    _own(root, None, uid, gid, done)
    for _dirpath, dirnames, filenames, dirfd in os.fwalk(root, follow_symlinks=False):
        for name in [*dirnames, *filenames]:
            _own(Path(name), dirfd, uid, gid, done)
    return done


def _own(path: Path, dirfd: int | None, uid: int | None, gid: int | None, done: HandOver) -> None:
    name = str(path)
    info = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    done.entries += 1
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFLNK:
        if uid is not None:
            os.chown(name, uid, gid if gid is not None else -1, dir_fd=dirfd, follow_symlinks=False)
        return
    if kind not in (stat.S_IFREG, stat.S_IFDIR):
        os.unlink(name, dir_fd=dirfd)
        done.removed += 1
        return
    if uid is not None:
        os.chown(name, uid, gid if gid is not None else -1, dir_fd=dirfd, follow_symlinks=False)
    if info.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX):
        done.setid_cleared += 1
    owner = 0 if uid is None else 0o700 if kind == stat.S_IFDIR else 0o600
    mode = (info.st_mode & 0o777) | owner
    if mode != stat.S_IMODE(info.st_mode):
        os.chmod(name, mode, dir_fd=dirfd)
