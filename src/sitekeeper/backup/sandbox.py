"""Run a restored site's code where it reaches nothing else of the sitekeeper host.

A drill serves the client's site, possibly hacked, with ``php -S``. It runs:

- as an unprivileged user (``drill_run_as``, by default ``sitekeeper-drill``,
  a user with no files of its own; ``nobody`` if that user does not exist);
- inside bubblewrap when it is installed: new mount, PID, IPC and UTS
  namespaces, the system's programs and libraries read-only, a private
  ``/tmp``, only the restored site writable, and no view of the data
  directory, ``/root``, ``/home`` or ``/srv`` (other clients' sites). The
  network is shared: the site must reach the drill's database and answer on
  loopback. bwrap is started *as* the unprivileged user, so its user
  namespace maps that user, never root;
- in its own session and process group; afterwards the sandbox's first
  process is killed, which takes every process in its PID namespace with it,
  and the drill waits until all are gone. Without bubblewrap the process
  group is killed, which a process that starts its own session escapes: the
  drill's figures say which sandbox it had.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sitekeeper.backup.errors import BackupError
from sitekeeper.domain.untrusted import shown

DEFAULT_USER = "sitekeeper-drill"
FALLBACK_USER = "nobody"
SITE = "/site"  # where the restored site appears inside the sandbox
HIDDEN = ("/root", "/home", "/srv")
_ETC = (  # what PHP and the C library read from /etc; nothing with secrets
    "php",
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "nsswitch.conf",
    "host.conf",
    "hosts",
    "resolv.conf",
    "gai.conf",
    "passwd",
    "group",
    "mime.types",
)
_TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_INFO_LIMIT = 64 * 1024


def _useradd(name: str) -> str:
    return f"useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {name}"


@dataclass(frozen=True)
class RunAs:
    """The Unix user a sandboxed process runs as (None fields: sitekeeper's own user)."""

    name: str | None
    uid: int | None
    gid: int | None
    note: str

    @classmethod
    def resolve(
        cls,
        wanted: str | None,
        *,
        default: str = DEFAULT_USER,
        fallback: str | None = FALLBACK_USER,
        runs: str = "a restored site",
    ) -> RunAs:
        """The user to run ``runs`` as: ``wanted``, else ``default``; never root. Only a
        missing ``default`` falls back, to ``fallback`` (None: none; a shared user such as
        nobody is no place for a hostile page). Not running as root, there is no one to
        switch to. BackupError (permanent) says what to do when the user cannot be used."""
        if os.geteuid() != 0:
            return cls(None, None, None, "sitekeeper's own user (not running as root)")
        name = wanted or default
        note = name
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            if name != default or fallback is None:
                raise BackupError(
                    f"the user {name!r} does not exist on this host: nothing to run {runs} "
                    f"as (create it: {_useradd(name)})",
                    permanent=True,
                ) from None
            entry = pwd.getpwnam(fallback)
            note = f"{fallback} (create the user {default}: {_useradd(default)})"
        if entry.pw_uid == 0 or entry.pw_gid == 0:
            raise BackupError(f"refusing to run {runs} as {entry.pw_name} (root)", permanent=True)
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, note)


@dataclass(frozen=True)
class Sandbox:
    """How restored code runs here: the user, and bubblewrap's path if it works."""

    run_as: RunAs
    bwrap: str | None
    note: str  # for the drill's figures and log

    @property
    def isolated(self) -> bool:
        """Whether bubblewrap is used (namespaces, hidden paths, whole PID namespace killed)."""
        return self.bwrap is not None


async def prepare(binary: str, wanted_user: str | None) -> Sandbox:
    """Resolve the user and check once that bubblewrap works for it."""
    run_as = RunAs.resolve(wanted_user)
    path = shutil.which(binary) if binary else None
    if path is None:
        reason = "bubblewrap is not installed (Debian package bubblewrap)" if binary else "off"
        return Sandbox(run_as, None, f"no sandbox: {reason}; PHP ran as {run_as.note}")
    failure = await _probe(path, run_as)
    if failure:
        return Sandbox(
            run_as, None, f"no sandbox: bwrap failed ({failure}); PHP ran as {run_as.note}"
        )
    return Sandbox(run_as, path, f"bubblewrap, PHP ran as {run_as.note}")


_PROBED: dict[tuple[str, int | None, int | None], str | None] = {}


async def _probe(bwrap: str, run_as: RunAs) -> str | None:
    """bwrap's complaint if it cannot build a sandbox for this user here, else None (once)."""
    uid, gid = run_as.uid, run_as.gid
    key = (bwrap, uid, gid)
    if key not in _PROBED:
        proc = await asyncio.create_subprocess_exec(
            bwrap,
            *system_binds(()),
            "--",
            "true",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin"},
            user=uid,
            group=gid,
            extra_groups=_no_groups(uid),
        )
        _, err = await proc.communicate()
        _PROBED[key] = (
            None if proc.returncode == 0 else shown(err, 200) or f"exit {proc.returncode}"
        )
    return _PROBED[key]


def system_binds(hide: Sequence[Path]) -> list[str]:
    """bwrap's arguments for a read-only system, a private /tmp and nothing private.

    Directories to hide that lie under a bound one get an empty tmpfs over them.
    """
    args = ["--unshare-all", "--share-net", "--die-with-parent", "--new-session"]
    args += ["--ro-bind", "/usr", "/usr"]
    bound = [Path("/usr")]
    for name in _TOP:
        top = Path("/", name)
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
            bound.append(top)
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        bound.append(Path("/etc", name))
    args += ["--ro-bind-try", "/run/mysqld", "/run/mysqld"]  # a database on a socket
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]  # noqa: S108 - private, empty
    for path in (*map(Path, HIDDEN), *hide):
        real = Path(os.path.realpath(path))
        if any(real == b or b in real.parents for b in bound):
            args += ["--tmpfs", str(real)]
    return args


def _no_groups(uid: int | None) -> list[int] | None:
    """Switching user, drop root's supplementary groups too."""
    return [] if uid is not None else None


@asynccontextmanager
async def started(
    sandbox: Sandbox, argv: Sequence[str], site: Path, hide: Sequence[Path]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``argv`` (with ``{site}`` standing for the site's directory) in the sandbox.

    Yields the process (stderr piped); on exit every process it started is
    killed and waited for.
    """
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    uid, gid = sandbox.run_as.uid, sandbox.run_as.gid
    if sandbox.bwrap is None:
        command = [a.replace("{site}", str(site)) for a in argv]
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=site,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            user=uid,
            group=gid,
            extra_groups=_no_groups(uid),
        )
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        return
    read_end, write_end = os.pipe()
    command = [
        sandbox.bwrap,
        *system_binds(hide),
        "--bind",
        str(site),
        SITE,
        "--chdir",
        SITE,
        "--info-fd",
        str(write_end),
        "--",
        *(a.replace("{site}", SITE) for a in argv),
    ]
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            pass_fds=(write_end,),
            user=uid,
            group=gid,
            extra_groups=_no_groups(uid),
        )
    finally:
        os.close(write_end)
    child: int | None = None
    try:
        child = await asyncio.to_thread(_child_pidfd, read_end)
        yield proc
    finally:
        await _end(proc, child)
        os.close(read_end)
        if child is not None:
            os.close(child)


def _child_pidfd(fd: int) -> int | None:
    """A pidfd of the sandbox's first process, named in bwrap's ``--info-fd`` JSON.

    Opened while bwrap still waits for that process, so the number cannot have
    been reused; signals then go through the pidfd.
    """
    data = b""
    while len(data) < _INFO_LIMIT and (chunk := os.read(fd, 4096)):
        data += chunk
        with contextlib.suppress(ValueError):
            pid = json.loads(data).get("child-pid")
            if not isinstance(pid, int):
                return None
            try:
                return os.pidfd_open(pid)
            except ProcessLookupError:
                return None
    return None


async def _end(proc: asyncio.subprocess.Process, child: int | None) -> None:
    """Kill the sandbox's first process -- the kernel then kills its whole PID namespace,
    and that process is gone only once all are -- and wait for bwrap, which waits for it."""
    if child is not None:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(child, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()
