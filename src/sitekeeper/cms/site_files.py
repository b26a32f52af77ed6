"""What an update over SSH needs on any CMS's site: who the SSH user is, whether it owns
the files an update rewrites, and a private working folder outside the docroot.

The CMS's own installer runs as the SSH user (or as the owner the site's SSH access names
for ``sudo -n -u``); that user must own what it rewrites, since sitekeeper never falls
back to FTP nor writes as another user. The working folder is in
the site's /tmp (the user's home may be the docroot: an archive there would be served),
and its name is checked because the server says it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import time
from pathlib import Path

from sitekeeper.domain.untrusted import clean
from sitekeeper.domain.updates import Check, VerifiedPackage
from sitekeeper.errors import InvalidFeed, RemoteError, SitekeeperError
from sitekeeper.remote.as_owner import OwnerConnection
from sitekeeper.remote.ssh import SshConnection

WORKSPACE = re.compile(r"/tmp/sk-update\.[A-Za-z0-9]{10}")  # noqa: S108 (on the site)


async def login_user(conn: SshConnection) -> tuple[str, str]:
    """The uid and the name of the user sitekeeper works as: the SSH user, or the files'
    owner it runs commands as through sudo (``remote.as_owner``)."""
    uid = (await conn.run(["id", "-u"])).text.strip()
    name = clean((await conn.run(["id", "-un"])).text, 64)
    if not uid.isdigit():
        raise RemoteError(f"cannot tell the SSH user's uid ({uid[:20]!r})", permanent=True)
    return uid, name


async def not_owned(
    conn: SshConnection, docroot: str, folders: tuple[str, ...], trees: tuple[str, ...], uid: str
) -> str:
    """The first path ``uid`` does not own among ``folders`` (themselves) and ``trees``
    (all they hold), relative to the docroot, with its owner; '' when all are its."""
    fmt = "%u\t%p\n"
    checks = []
    if folders:
        paths = [_under(docroot, f) for f in folders]
        checks.append(["find", *paths, "-maxdepth", "0", "!", "-uid", uid, "-printf", fmt])
    for tree in trees:
        path = _under(docroot, tree)
        checks.append(["find", path, "-xdev", "!", "-uid", uid, "-printf", fmt, "-quit"])
    for argv in checks:
        result = await conn.run(argv, check=False)
        if result.exit_status != 0:
            return f"cannot check who owns {_relative(argv[1], docroot)}: missing or unreadable"
        line = result.text.split("\n", 1)[0]
        if line:
            owner, _, path = line.partition("\t")
            return f"{_relative(path, docroot)} is owned by {clean(owner, 64)}"
    return ""


async def owner_check(
    conn: SshConnection,
    docroot: str,
    folders: tuple[str, ...],
    trees: tuple[str, ...],
    *,
    cms: str,
    name: str = "owner",
    consequence: str | None = None,
) -> Check:
    """``not_owned`` as a check that says what to do when it fails (``consequence``: what
    the CMS would do with files of another owner, if not the usual)."""
    since = time.monotonic()
    try:
        uid, user = await login_user(conn)
        problem = await not_owned(conn, docroot, folders, trees, uid)
    except SitekeeperError as exc:
        return Check(name, False, f"cannot check file ownership: {exc}", time.monotonic() - since)
    if problem:
        would = (
            consequence or f"{cms}'s installer would write files as another user or fail half-way"
        )
        as_owner = isinstance(conn, OwnerConnection)
        who = (
            "the user sitekeeper works as through sudo"
            if as_owner
            else ("the user sitekeeper logs in as")
        )
        why = (
            f"refused: {problem}, not by {user}, {who}; {would} "
            f"(give the files to {user}, or log in as their owner)"
        )
        return Check(name, False, why, time.monotonic() - since)
    whose = "the user sitekeeper works as" if isinstance(conn, OwnerConnection) else "the SSH user"
    return Check(name, True, f"the files are {user}'s, {whose}", time.monotonic() - since)


async def make_workspace(conn: SshConnection) -> str:
    """A private (0700) folder in /tmp."""
    template = "/tmp/sk-update.XXXXXXXXXX"  # noqa: S108 (mktemp -d: private, on the site)
    made = (await conn.run(["mktemp", "-d", template])).text.strip()
    if not WORKSPACE.fullmatch(made):
        raise RemoteError(f"mktemp answered an unexpected path: {clean(made, 80)!r}")
    return made


async def remove_workspace(conn: SshConnection, workspace: str) -> bool:
    """Remove the working folder (only a name ``make_workspace`` could have made)."""
    if not WORKSPACE.fullmatch(workspace):
        return False
    result = await conn.run(["rm", "-rf", "--", workspace], check=False)
    return result.exit_status == 0


def _under(docroot: str, relative: str) -> str:
    return posixpath.join(docroot, relative) if relative else docroot


def _relative(path: str, docroot: str) -> str:
    rel = posixpath.relpath(path, docroot) if path.startswith(docroot) else path
    return clean(rel, 200) or "."


def verified_bytes(package: VerifiedPackage) -> bytes:
    """The archive's bytes, read once and only if they still have the sha256 verified in
    the package step (InvalidFeed if the cached file changed since): what an installer
    uploads is what was checked."""
    data = Path(package.path).read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != package.sha256:
        raise InvalidFeed(
            f"{package.path}: the archive changed after it was verified (sha256 {found}, "
            f"not {package.sha256}); refused, nothing uploaded"
        )
    return data
