"""Restore drills: prove a snapshot restores into a site that actually serves its home page.

The latest snapshot is restored into a scratch directory, its dump loaded
into a scratch database (on the local MariaDB, a setting), the CMS's config
file (``wp-config.php``, ``configuration.php``, ``settings.php``) pointed at
that database and at a loopback URL, and the site served with ``php -S`` on a
free loopback port. The drill passes when the home page answers 200 without
following redirects, carries the site's own title (from the restored database:
WordPress's ``blogname``, Joomla's home menu item, Drupal's site name) and shows
no PHP error text. What differs between CMSes is asked of the CMS plugin
(``cms.site_database``). The verdict goes on the run and in the journal; the
sandbox is always removed.

Everything in the snapshot came from the client's server, possibly hacked,
and is replayed with the least rights that work: the dump is scanned and
refused if it holds anything but a site's data (``dumpscan``), then loaded
with the client's commands off by a database user that can reach only the
scratch database (``scratchdb``); files of the restored tree are read and
written without following links (``treefiles``); and PHP runs as an
unprivileged user in bubblewrap, killed with all it started (``sandbox``).
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from sitekeeper.backup import dumpscan, treefiles
from sitekeeper.backup.dumpscan import UnsafeDump
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.restore import find_snapshot
from sitekeeper.backup.runner import CONFIG_BYTES, DUMP, FILES, BackupContext, SiteInfo
from sitekeeper.backup.sandbox import Sandbox, prepare, started
from sitekeeper.backup.scratchdb import ScratchDatabase
from sitekeeper.backup.treefiles import UnsafeTree, hand_over, opened_dir
from sitekeeper.cms.detect import signatures
from sitekeeper.cms.protocol import Cms
from sitekeeper.cms.site_database import DrillTarget, SiteDatabase, site_database
from sitekeeper.domain.untrusted import shown
from sitekeeper.errors import SitekeeperError
from sitekeeper.store import backups as queries
from sitekeeper.store.tables import Site

_PHP_ERRORS = re.compile(
    r"(?:Fatal error|Parse error|Warning|Notice|Deprecated|Recoverable fatal error)"
    r"(?:</b>)?:\s|There has been a critical error on this website|"
    r"Error establishing a database connection",
    re.IGNORECASE,
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_STARTED = b"started"
log = logging.getLogger(__name__)
_BODY_LIMIT = 4 * 1024 * 1024
DRILL_LEASE = timedelta(hours=12)  # held while the due drills run; a crashed holder's lapses


@dataclass
class DrillResult:
    """A drill's verdict and figures."""

    site: str
    snapshot: str
    ok: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    """A port the kernel says is free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def drill(
    ctx: BackupContext, ref: str, snapshot: str | None = None, *, expected_title: str | None = None
) -> DrillResult:
    """Run one restore drill; the verdict is journaled and returned (failures too)."""
    site = await ctx.site_info(ref)
    restic = ctx.restic(site.repository)
    snap = await find_snapshot(restic, site, snapshot)
    started = time.monotonic()
    sandbox = await prepare(ctx.settings.drill_sandbox, ctx.settings.drill_run_as)
    figures: dict[str, Any] = {"sandbox": sandbox.note}
    if not sandbox.isolated:
        log.warning("restore drill of %s without a sandbox: %s", site.name, sandbox.note)
    # The system temp dir, not the data dir: the sandbox user must reach the tree, and
    # the data dir is private. Only root and the sandbox user's group may enter it.
    workdir = Path(tempfile.mkdtemp(prefix=f"sitekeeper-drill-{site.id}-"))
    tree = workdir / "tree"
    try:
        await asyncio.to_thread(_private_dirs, workdir, tree, sandbox)
        await restic.restore(snap.id, tree)
        figures["restore_seconds"] = round(time.monotonic() - started, 3)
        ok, detail = await _verify(ctx.settings, site, workdir, sandbox, expected_title, figures)
    except SitekeeperError as exc:
        ok, detail = False, str(exc)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)
    figures["duration"] = round(time.monotonic() - started, 3)
    result = DrillResult(site.name, snap.id, ok, detail, figures)
    await ctx.dbthread.session_aside(_record, ctx, site, result)
    return result


def _private_dirs(workdir: Path, tree: Path, sandbox: Sandbox) -> None:
    """``workdir`` (option files, the dump's copy) and ``tree`` (the restored snapshot):
    root's, enterable by the sandbox user's group only, so it can reach ``tree/files``."""
    tree.mkdir(mode=0o700)
    gid = sandbox.run_as.gid
    for path in (workdir, tree):
        if gid is not None:
            os.chown(path, 0, gid)
            path.chmod(0o710)


async def _verify(  # noqa: PLR0917 - private step of a drill
    settings: BackupSettings,
    site: SiteInfo,
    workdir: Path,
    sandbox: Sandbox,
    expected_title: str | None,
    figures: dict[str, Any],
) -> tuple[bool, str]:
    tree = workdir / "tree"
    load_copy = workdir / "load.sql"
    try:
        restored = await asyncio.to_thread(_check_tree, tree, load_copy, site.cms)
    except (UnsafeDump, UnsafeTree) as exc:
        return False, str(exc)
    if isinstance(restored, str):
        return False, restored
    database, config_path, config_text = restored
    prefix = database.credentials(config_text).table_prefix
    handed = await asyncio.to_thread(
        hand_over, tree / FILES, sandbox.run_as.uid, sandbox.run_as.gid
    )
    if handed.removed or handed.setid_cleared:
        figures["special_files_removed"] = handed.removed
        figures["setid_bits_cleared"] = handed.setid_cleared
    scratch = ScratchDatabase(settings, workdir, str(site.id))
    try:
        await scratch.create()
        fd = os.open(load_copy, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            await scratch.load(fd)
        finally:
            os.close(fd)
        output = await scratch.query(database.title_sql(prefix))
        title = expected_title or database.title(output, config_text)
        port = free_port()
        target = DrillTarget(
            database=scratch.name,
            user=scratch.user,
            password=scratch.password,
            host=settings.drill_db_host,
            port=settings.drill_db_port,
            url=f"http://127.0.0.1:{port}",
        )
        pointed = database.point_at(config_text, target)
        await asyncio.to_thread(_write_config, tree, config_path, pointed)
        hide = [settings.home, workdir]
        return await _serve_and_check(settings, sandbox, tree / FILES, hide, port, title, figures)
    finally:
        await scratch.drop()


def _check_tree(
    tree: Path, load_copy: Path, cms: str | None
) -> tuple[SiteDatabase, str, bytes] | str:
    """Scan the dump (copying it for loading) and read the CMS's config file, both without
    following links: the CMS's database side, the config's path and bytes, or what is
    missing. UnsafeDump/UnsafeTree say what is wrong."""
    with opened_dir(tree) as root:
        try:
            dump = treefiles.open_file(root, DUMP)
        except UnsafeTree:
            if not _exists(root, DUMP):
                return "the snapshot has no database.sql"
            raise
        copy = os.open(load_copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(dump, "rb") as source, os.fdopen(copy, "wb") as out:
            dumpscan.check(source, rewrite=out)
        cms = cms or _cms_in_tree(root)
        if cms is None:
            return "the snapshot's files are not those of a CMS sitekeeper knows"
        database = site_database(cms)
        inside = [f"{FILES}/{c}" for c in database.config_files if not c.startswith("../")]
        for config in inside:
            if _exists(root, config):
                return database, config, treefiles.read_file(root, config, CONFIG_BYTES)
        return f"the snapshot lacks {cms}'s {' or '.join(inside)}"


def _cms_in_tree(root: int) -> str | None:
    """The CMS whose version files (else config file) the restored files hold, if exactly
    one's: for a site whose CMS is not stored (its backups store it since they find it)."""
    known = signatures()
    for files_of in (_markers, _config_files):
        found = [
            kind
            for kind, cms in known.items()
            if any(
                _exists(root, f"{FILES}/{path}")
                for path in files_of(cms)
                if not path.startswith("../")
            )
        ]
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _markers(cms: Cms) -> tuple[str, ...]:
    return cms.markers


def _config_files(cms: Cms) -> tuple[str, ...]:
    return cms.config_files


def _exists(root: int, relative: str) -> bool:
    """Whether anything (a link included) is at ``relative``; links on the way are not taken."""
    parent, _, name = relative.rpartition("/")
    try:
        if parent:
            with opened_dir(Path(parent), under=root) as fd:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
        else:
            os.stat(name, dir_fd=root, follow_symlinks=False)
    except (OSError, UnsafeTree):
        return False
    return True


def _write_config(tree: Path, relative: str, data: bytes) -> None:
    with opened_dir(tree) as root:
        treefiles.write_file(root, relative, data)


async def _serve_and_check(  # noqa: PLR0917 - private step of a drill
    settings: BackupSettings,
    sandbox: Sandbox,
    files: Path,
    hide: list[Path],
    port: int,
    title: str,
    figures: dict[str, Any],
) -> tuple[bool, str]:
    argv = [settings.drill_php, "-S", f"127.0.0.1:{port}", "-t", "{site}"]
    last = ""
    try:
        async with started(sandbox, argv, files, hide) as proc:
            assert proc.stderr is not None
            async with asyncio.timeout(settings.drill_timeout):
                while _STARTED not in (line := await proc.stderr.readline()):
                    if not line:
                        status = await proc.wait()
                        return False, f"php -S did not start (exit {status}): {last!r}"
                    last = shown(line, 300)
                drain = asyncio.ensure_future(proc.stderr.read())  # keep the pipe from filling
                t0 = time.monotonic()
                async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
                    response = await client.get(f"http://127.0.0.1:{port}/")
                drain.cancel()
    except TimeoutError:
        return False, f"the restored site did not answer within {settings.drill_timeout:g}s"
    except httpx.HTTPError as exc:
        return False, f"requesting the restored home page failed: {exc}"
    figures["home_status"] = response.status_code
    figures["home_ms"] = round((time.monotonic() - t0) * 1000)
    return _judge(response.status_code, response.content[:_BODY_LIMIT], title)


def _judge(status: int, body: bytes, title: str) -> tuple[bool, str]:
    """The verdict on the restored home page."""
    if status != 200:
        return False, f"home page answered {status}, expected 200"
    text = body.decode("utf-8", errors="replace")
    if match := _PHP_ERRORS.search(text):
        return False, f"home page shows PHP error text: {match.group(0).strip()!r}"
    found = _TITLE.search(text)
    page_title = html.unescape(found.group(1)).strip() if found else ""
    if title and title not in page_title:
        return False, f"home page title is {shown(page_title, 200)!r}, expected {shown(title)!r}"
    return True, f"home page answered 200 with title {shown(page_title, 200)!r}"


def _record(session: Session, ctx: BackupContext, site: SiteInfo, result: DrillResult) -> None:
    row = session.get(Site, site.id)
    if row is not None:
        queries.mark_verified(
            session,
            row,
            result.snapshot,
            ok=result.ok,
            detail=result.detail,
            figures=result.figures,
            now=ctx.clock(),
        )


async def run_due_drills(ctx: BackupContext) -> list[DrillResult]:
    """What the engine calls periodically: drill every site whose plan's cadence is due.

    One at a time: a drill runs the site's PHP and a scratch database locally,
    which is heavier than a backup and not worth parallelising. Each site's
    lease is held during the run, so another ``serve`` process skips it.
    """

    def due(session: Session) -> list[int]:
        return queries.due_drills(session, ctx.clock())

    results = []
    async with ctx.leases.claim("drill", DRILL_LEASE, due) as site_ids:
        for site_id in site_ids:
            try:
                results.append(await drill(ctx, str(site_id)))
            except SitekeeperError as exc:  # e.g. the repository is unreachable right now
                log.warning("drill of site %s not run: %s", site_id, exc)
    return results
