"""Which CMS a docroot holds, over SSH, from the files each CMS's inventory reads.

A site added by hand has no CMS until something finds out; the inventory and
the backup cannot wait for the fingerprint to guess it from outside. Each CMS
plugin names its ``markers`` (the version files its inventory reads first) and
its ``config_files`` (where its database credentials live); nothing here lists
CMSes, so a new CMS module is detected by declaring its own.

Only files that are regular files inside the docroot count: a marker that is a
symlink out of it is what the inventory would refuse to read, so it decides
nothing here either.
"""

from __future__ import annotations

import asyncio
import posixpath

from sitekeeper.cms.protocol import Cms
from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.untrusted import visible
from sitekeeper.errors import NoCms, RemoteError
from sitekeeper.remote.ssh import SshConnection, server_refused

MAX_PATH_SHOWN = 200


def signatures() -> dict[str, Cms]:
    """Every registered CMS that declares markers, by kind."""
    return {kind: cms for kind, cms in CMSES.items() if cms.markers}


async def confirm(conn: SshConnection, docroot: str, stored: str | None) -> str:
    """The site's CMS: ``stored`` while its files are still there (one look-up), else
    found again, so a site rebuilt on another CMS is read as what it is now."""
    known = signatures().get(stored) if stored else None
    if known is not None and await _any_file(conn, await conn.realpath(docroot), known.markers):
        return known.kind
    return await detect(conn, docroot)


async def detect(conn: SshConnection, docroot: str) -> str:
    """The kind of the CMS installed at ``docroot`` (``wordpress``, ``joomla``, ...).

    NoCms if no CMS's files are there; RemoteError (permanent) if two CMSes' are
    and their config files do not tell which one is in use.
    """
    root = await conn.realpath(docroot)
    known = signatures()
    present = await asyncio.gather(*(_any_file(conn, root, sig.markers) for sig in known.values()))
    found = [kind for kind, yes in zip(known, present, strict=True) if yes]
    if len(found) > 1:  # e.g. an old install's files left beside the new one
        configured = await asyncio.gather(
            *(_any_file(conn, root, known[kind].config_files) for kind in found)
        )
        found = [kind for kind, yes in zip(found, configured, strict=True) if yes] or found
    if len(found) == 1:
        return found[0]
    where = visible(docroot, MAX_PATH_SHOWN)
    if not found:
        looked = ", ".join(m for sig in known.values() for m in sig.markers)
        raise NoCms(f"no known CMS installed in {where} (looked for {looked})")
    raise RemoteError(
        f"{where} holds the files of more than one CMS ({', '.join(found)}), each with its "
        "config file; cannot tell which one the site runs",
        permanent=True,
    )


async def _any_file(conn: SshConnection, root: str, relatives: tuple[str, ...]) -> bool:
    for relative in relatives:
        if await _file_inside(conn, root, posixpath.join(root, relative)):
            return True
    return False


async def _file_inside(conn: SshConnection, root: str, path: str) -> bool:
    """Whether ``path`` is a regular file, or a symlink to one that stays inside ``root``."""
    try:
        entry = await conn.lstat(path)
        if entry is None or entry.kind not in ("file", "symlink"):
            return False
        if entry.kind == "file":
            return True
        real = await conn.realpath(path)
        if real != root and not real.startswith(root.rstrip("/") + "/"):
            return False
        target = await conn.lstat(real)
    except RemoteError as exc:
        if server_refused(exc):  # no permission, a loop, a parent that is a file: not there
            return False
        raise
    return target is not None and target.kind == "file"
