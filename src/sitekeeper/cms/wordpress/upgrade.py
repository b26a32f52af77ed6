"""Apply a verified package to a WordPress site with WordPress's own upgrader, over SSH.

The archive (already verified on this host: ``updates.packages``) and a small PHP program
(``upgrader.php``, shipped with this package) go into a private folder in the site's /tmp;
the site's ``php`` runs the program as the SSH user, who must own the files: WordPress
writes directly only then, and sitekeeper never falls back to FTP nor writes as another
user. Plugins and themes go through ``bulk_upgrade`` (it keeps an active plugin active),
core through ``Core_Upgrader`` and then ``wp_upgrade()`` in a second process that loads the
new release. Whatever happens, ``.maintenance`` is removed (by the program and again from
here), the working folder and the upgrader's leftovers are deleted, and PHP-FPM's opcode
cache is reset through the caller's ``reset_opcache`` (the CLI's cache is another one).
The version reported is the one on disk afterwards.
"""

from __future__ import annotations

import asyncio
import posixpath
import secrets
import time
import zipfile
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from sitekeeper.cms import site_files
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.cms.wordpress import upgrade_site as site
from sitekeeper.cms.wordpress.upgrade_result import ProgramResult, parse
from sitekeeper.domain.updates import CORE, ApplyResult, Check, VerifiedPackage
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

PROGRAM = "upgrader.php"
TYPES = (CORE, "plugin", "theme")


def program() -> bytes:
    """The PHP upgrader shipped with this package."""
    return files("sitekeeper.cms.wordpress").joinpath(PROGRAM).read_bytes()


async def apply_package(
    conn: SshConnection,
    docroot: str,
    site_url: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
    php: str = "php",
    time_limit: float = 900.0,
) -> ApplyResult:
    """Install ``package`` on the WordPress at ``docroot`` (reached at ``site_url``).

    Never raises for the site's failures: a refusal (files owned by another user) or a
    failed step comes back as ``ok=False`` with the check that says why.
    """
    item = package.item
    run = _Apply(
        conn=conn,
        docroot=docroot.rstrip("/") or "/",
        type=item.type,
        slug=item.package if item.type != CORE else "wordpress",
        target=item.target,
        php=php,
        host=urlsplit(site_url).hostname or "localhost",
        time_limit=time_limit,
    )
    if item.type not in TYPES:
        run.add("package", False, f"WordPress cannot apply a {item.type!r} package", run.started)
        return run.result(None)
    since = time.monotonic()
    top = await asyncio.to_thread(top_folders, Path(package.path))
    if top != {run.slug}:
        found = ", ".join(sorted(top)[:3]) or "nothing"
        why = f"refused: the archive's top folder must be {run.slug}/ alone; it has {found}"
        run.add("package", False, why, since)
        return run.result(None)
    if not await run.owner_ok("owner"):
        return run.result(None)
    before = await site.existing(conn, run.docroot, site.LEFTOVERS)
    try:
        since = time.monotonic()
        run.workspace = await site_files.make_workspace(conn)
        data = await asyncio.to_thread(site_files.verified_bytes, package)  # what was checked
        await conn.write_file(run.zip_path, data)
        await conn.write_file(posixpath.join(run.workspace, PROGRAM), program())
        run.add("upload", True, f"{len(data)} bytes to {run.workspace}", since)
        if await run.program(item.type) and item.type == CORE:
            await run.program("db")
    except SitekeeperError as exc:
        run.add("apply", False, str(exc), run.started)
    finally:
        await run.clean_up(before)
    if reset_opcache is not None:
        since = time.monotonic()
        reset = await reset_opcache()
        run.checks.append(replace(reset, seconds=reset.seconds or time.monotonic() - since))
    return await run.finish()


async def owner_check(
    conn: SshConnection, docroot: str, type_: str, slug: str, name: str = "owner"
) -> Check:
    """Whether the SSH user owns what an update of ``type_`` ``slug`` rewrites: WordPress
    writes directly only then (else it asks for FTP), and sitekeeper never writes as
    another user."""
    top = posixpath.relpath(site.scope(docroot, type_, slug), docroot)
    folders: tuple[str, ...] = ("", "wp-content")
    trees = ("",)
    if type_ != CORE:
        folders, trees = (*folders, posixpath.dirname(top)), (top,)
    return await site_files.owner_check(
        conn,
        docroot,
        folders,
        trees,
        cms="WordPress",
        name=name,
        consequence="WordPress would fall back to FTP or write files as another user",
    )


def top_folders(archive: Path) -> set[str]:
    """The archive's top folders: WordPress installs into the one the zip names, so a
    package for "akismet" holding "akismet-main/" would land beside the plugin."""
    try:
        with zipfile.ZipFile(archive) as opened:
            return {name.split("/", 1)[0] for name in opened.namelist()}
    except (OSError, zipfile.BadZipFile):
        return set()


@dataclass
class _Apply:
    """One apply on one site: what it works on and the checks it recorded, each timed."""

    conn: SshConnection
    docroot: str
    type: str
    slug: str
    target: str
    php: str
    host: str
    time_limit: float
    workspace: str = ""
    checks: list[Check] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    said: dict[str, ProgramResult] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def zip_path(self) -> str:
        return posixpath.join(self.workspace, "package.zip")

    def add(self, name: str, ok: bool, detail: str, since: float) -> bool:
        self.checks.append(Check(name, ok, detail, time.monotonic() - since))
        return ok

    async def owner_ok(self, name: str) -> bool:
        """The files the update rewrites are the SSH user's (refused, with why, if not)."""
        check = await owner_check(self.conn, self.docroot, self.type, self.slug, name)
        self.checks.append(check)
        return check.ok

    async def program(self, mode: str) -> bool:
        """Run the upgrader program in ``mode``; record what it said."""
        since = time.monotonic()
        marker = f"sk-result-{secrets.token_hex(16)}:"
        argv = [self.php, posixpath.join(self.workspace, PROGRAM), self.docroot, mode]
        argv += [self.slug, self.zip_path, self.target, marker, self.host]
        result = await self.conn.run(argv, time_limit=self.time_limit, check=False)
        said = self.said[mode] = parse(result, marker)
        self.messages.extend(said.messages)
        name = {"db": "database", "unlock": "unlock"}.get(mode, "upgrade")
        if not said.ok:
            where = f" (at {said.stage})" if said.stage else ""
            return self.add(name, False, f"WordPress's upgrader failed{where}: {said.error}", since)
        if mode == "db":
            detail = f"wp_upgrade(): db_version {said.values.get('db_before')} → "
            return self.add(name, True, detail + str(said.values.get("db_after")), since)
        return self.add(name, True, _upgrade_detail(mode, said), since)

    async def clean_up(self, before: set[str]) -> None:
        """Maintenance off, working folder and the upgrader's new leftovers gone: every time."""
        since = time.monotonic()
        state = await site.maintenance_off(self.conn, self.docroot)
        detail = {
            "absent": "no .maintenance left",
            "removed": "no .maintenance left (removed the one the upgrader left)",
        }.get(state, f".maintenance could not be removed ({state}): the site answers 503")
        self.add("maintenance", state in ("absent", "removed"), detail, since)
        if self.type == CORE and "core" in self.said and self.said["core"].stage != "finish":
            await self.program("unlock")  # killed mid-way: WordPress's lock outlived it
        since = time.monotonic()
        left = await site.remove_new(self.conn, self.docroot, before)
        if self.workspace and not await site_files.remove_workspace(self.conn, self.workspace):
            left.append(self.workspace)
        detail = f"could not remove {', '.join(left)}" if left else "temporary files removed"
        self.add("cleanup", not left, detail, since)

    async def finish(self) -> ApplyResult:
        """What is on disk now: the version, the database's version, the files' owner."""
        since = time.monotonic()
        found = await site.version_on_disk(self.conn, self.docroot, self.type, self.slug)
        detail = f"{found or 'no version'} on disk (target {self.target})"
        self.add("version", found == self.target, detail, since)
        if "db" in self.said and self.said["db"].ok:
            since = time.monotonic()
            wanted = await site.db_version_on_disk(self.conn, self.docroot)
            after = self.said["db"].values.get("db_after")
            detail = f"database at {after}, the release on disk needs {wanted}"
            self.add("db_version", wanted is not None and after == wanted, detail, since)
        await self.owner_ok("ownership")
        return self.result(found)

    def result(self, version: str | None) -> ApplyResult:
        return ApplyResult(
            ok=all(c.ok for c in self.checks),
            version_on_disk=version,
            checks=tuple(self.checks),
            messages=tuple(self.messages),
            seconds=time.monotonic() - self.started,
        )


def _upgrade_detail(mode: str, said: ProgramResult) -> str:
    detail = f"WordPress's {mode} upgrader installed the package"
    if "active_before" in said.values:
        now = "active" if said.values.get("active_after") else "inactive"
        was = "active" if said.values.get("active_before") else "inactive"
        detail += f"; the plugin is {now} (was {was})"
    return detail
