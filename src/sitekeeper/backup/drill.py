"""Restore drills: prove a snapshot restores into a site that actually serves its home page.

The latest snapshot is restored into a scratch directory, its dump loaded
into a scratch database (on the local MariaDB, a setting), ``wp-config.php``
pointed at that database and at a loopback URL, and the site served with
``php -S`` on a free loopback port. The drill passes when the home page
answers 200 without following redirects, carries the site's own title (its
``blogname`` from the restored database) and shows no PHP error text. The
verdict goes on the run and in the journal; the sandbox is always removed.

The restored code is the client's site, possibly hacked: when sitekeeper runs
as root, PHP runs as an unprivileged user (``drill_run_as``), with a clean
environment, and its database user can reach only the scratch database.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import pwd
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.restore import find_snapshot
from sitekeeper.backup.runner import DUMP, FILES, BackupContext, SiteInfo
from sitekeeper.cms.php_config import parse_php_config
from sitekeeper.cms.wordpress import DbCredentials, parse_mysql_rows
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


def php_string(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def point_config(source: str, values: dict[str, str | bool]) -> str:
    """``wp-config.php`` with these constants replaced (or defined right after ``<?php``)."""
    text = source
    added: list[str] = []
    for name, value in values.items():
        literal = ("true" if value else "false") if isinstance(value, bool) else php_string(value)
        pattern = re.compile(
            r"define\s*\(\s*(['\"])" + re.escape(name) + r"\1\s*,\s*(?:'(?:[^'\\]|\\.)*'"
            r"|\"(?:[^\"\\]|\\.)*\"|true|false|[\w.]+)\s*\)",
            re.IGNORECASE,
        )
        replacement = f"define( '{name}', {literal} )"
        text, count = pattern.subn(_constant(replacement), text)
        if count == 0:
            added.append(f"{replacement};")
    if added:
        head, sep, tail = text.partition("<?php")
        if not sep:
            raise BackupError("wp-config.php has no <?php opening tag", permanent=True)
        text = head + "<?php\n" + "\n".join(added) + "\n" + tail
    return text


def _constant(replacement: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement function (a string would have its backslashes interpreted)."""
    return lambda _match: replacement


def free_port() -> int:
    """A port the kernel says is free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ScratchDatabase:
    """A throwaway database and user on the drill's MariaDB, made and dropped as root."""

    def __init__(self, settings: BackupSettings, sandbox: Path, label: str) -> None:
        self.settings = settings
        self.name = f"sk_drill_{label}_{secrets.token_hex(4)}"
        self.user = self.name[:32]
        self.password = secrets.token_urlsafe(24)
        self.options = sandbox / "root.cnf"
        lines = [
            "[client]",
            "user=" + settings.drill_db_user,
            "host=" + settings.drill_db_host,
            f"port={settings.drill_db_port}",
        ]
        if settings.drill_db_password:
            lines.append(f'password="{settings.drill_db_password}"')
        fd = os.open(self.options, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")

    async def mysql(
        self, sql: str | None = None, *, database: str | None = None, stdin: Path | None = None
    ) -> str:
        argv = ["mysql", f"--defaults-extra-file={self.options}", "--batch", "--skip-column-names"]
        if database:
            argv.append(f"--database={database}")
        if sql is not None:
            argv += ["--execute", sql]
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as feed:  # noqa: ASYNC230
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=feed, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await proc.communicate()
        if proc.returncode != 0:
            detail = err.decode("utf-8", errors="replace").strip()[-500:]
            raise BackupError(f"drill database: mysql failed: {detail}")
        return out.decode("utf-8", errors="replace")

    async def create(self, dump: Path) -> None:
        host = self.settings.drill_db_host
        await self.mysql(
            f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4; "
            f"CREATE USER '{self.user}'@'{host}' IDENTIFIED BY '{self.password}'; "
            f"CREATE USER '{self.user}'@'localhost' IDENTIFIED BY '{self.password}'; "
            f"GRANT ALL ON `{self.name}`.* TO '{self.user}'@'{host}'; "
            f"GRANT ALL ON `{self.name}`.* TO '{self.user}'@'localhost';"
        )
        await self.mysql(database=self.name, stdin=dump)

    async def drop(self) -> None:
        host = self.settings.drill_db_host
        await self.mysql(
            f"DROP DATABASE IF EXISTS `{self.name}`; "
            f"DROP USER IF EXISTS '{self.user}'@'{host}'; "
            f"DROP USER IF EXISTS '{self.user}'@'localhost';"
        )


async def drill(
    ctx: BackupContext, ref: str, snapshot: str | None = None, *, expected_title: str | None = None
) -> DrillResult:
    """Run one restore drill; the verdict is journaled and returned (failures too)."""
    site = await ctx.site_info(ref)
    restic = ctx.restic(site.repository)
    snap = await find_snapshot(restic, site.id, snapshot)
    started = time.monotonic()
    # The system temp dir, not the data dir: the unprivileged PHP user must reach the
    # sandbox, and the data dir often sits under a 0700 home.
    sandbox = Path(tempfile.mkdtemp(prefix=f"sitekeeper-drill-{site.id}-"))
    figures: dict[str, Any] = {}
    try:
        await restic.restore(snap.id, sandbox)
        figures["restore_seconds"] = round(time.monotonic() - started, 3)
        ok, detail = await _verify(ctx.settings, site, sandbox, expected_title, figures)
    except SitekeeperError as exc:
        ok, detail = False, str(exc)
    finally:
        await asyncio.to_thread(shutil.rmtree, sandbox, ignore_errors=True)
    figures["duration"] = round(time.monotonic() - started, 3)
    result = DrillResult(site.name, snap.id, ok, detail, figures)
    await asyncio.to_thread(_record, ctx, site, result)
    return result


async def _verify(
    settings: BackupSettings,
    site: SiteInfo,
    sandbox: Path,
    expected_title: str | None,
    figures: dict[str, Any],
) -> tuple[bool, str]:
    files, dump, config_path = sandbox / FILES, sandbox / DUMP, sandbox / FILES / "wp-config.php"
    if not config_path.is_file() or not dump.is_file():
        return False, "the snapshot lacks wp-config.php or database.sql"
    config_text = config_path.read_text(encoding="utf-8", errors="surrogateescape")
    prefix = DbCredentials.from_config(parse_php_config(config_text.encode())).table_prefix
    scratch = _ScratchDatabase(settings, sandbox, str(site.id))
    try:
        await scratch.create(dump)
        rows = parse_mysql_rows(
            await scratch.mysql(
                f"SELECT option_name, HEX(option_value) FROM `{prefix}options` "  # noqa: S608
                "WHERE option_name = 'blogname'",
                database=scratch.name,
            )
        )
        title = expected_title or rows.get("blogname", b"").decode("utf-8", errors="replace")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        config_path.write_text(
            point_config(
                config_text,
                {
                    "DB_NAME": scratch.name,
                    "DB_USER": scratch.user,
                    "DB_PASSWORD": scratch.password,
                    "DB_HOST": f"{settings.drill_db_host}:{settings.drill_db_port}",
                    "WP_HOME": url,
                    "WP_SITEURL": url,
                    "DISABLE_WP_CRON": True,
                },
            ),
            encoding="utf-8",
            errors="surrogateescape",
        )
        return await _serve_and_check(settings, sandbox, files, port, title, figures)
    finally:
        await scratch.drop()


async def _serve_and_check(  # noqa: PLR0917 - private step of a drill
    settings: BackupSettings,
    sandbox: Path,
    files: Path,
    port: int,
    title: str,
    figures: dict[str, Any],
) -> tuple[bool, str]:
    user = settings.drill_run_as if os.geteuid() == 0 else None
    if user is not None:
        await asyncio.to_thread(_hand_over, sandbox, files, user)
    proc = await asyncio.create_subprocess_exec(
        settings.drill_php,
        "-S",
        f"127.0.0.1:{port}",
        "-t",
        str(files),
        cwd=files,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        user=user,
        group=pwd.getpwnam(user).pw_gid if user else None,
        extra_groups=[] if user else None,  # drop root's supplementary groups too
    )
    assert proc.stderr is not None
    last = ""
    try:
        async with asyncio.timeout(settings.drill_timeout):
            while _STARTED not in (line := await proc.stderr.readline()):
                if not line:
                    return False, f"php -S did not start (exit {await proc.wait()}): {last}"
                last = line.decode("utf-8", errors="replace").strip()[-300:]
            drain = asyncio.ensure_future(proc.stderr.read())  # keep the pipe from filling
            t0 = time.monotonic()
            async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
                response = await client.get(f"http://127.0.0.1:{port}/")
            drain.cancel()
        figures["home_status"] = response.status_code
        figures["home_ms"] = round((time.monotonic() - t0) * 1000)
        return _judge(response.status_code, response.content[:_BODY_LIMIT], title)
    except TimeoutError:
        return False, f"the restored site did not answer within {settings.drill_timeout:g}s"
    except httpx.HTTPError as exc:
        return False, f"requesting the restored home page failed: {exc}"
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


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
        return False, f"home page title is {page_title!r}, expected {title!r}"
    return True, f"home page answered 200 with title {page_title!r}"


def _hand_over(sandbox: Path, files: Path, user: str) -> None:
    """Let the unprivileged PHP user read (and write, as WordPress may) the restored files."""
    entry = pwd.getpwnam(user)
    sandbox.chmod(0o711)
    for root, dirs, names in os.walk(files):
        for name in [*dirs, *names]:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.lchown(files, entry.pw_uid, entry.pw_gid)


def _record(ctx: BackupContext, site: SiteInfo, result: DrillResult) -> None:
    with ctx.db.session() as session:
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
        return [site.id for site in queries.due_drills(session, ctx.clock())]

    results = []
    async with ctx.leases.claim("drill", DRILL_LEASE, due) as site_ids:
        for site_id in site_ids:
            try:
                results.append(await drill(ctx, str(site_id)))
            except SitekeeperError as exc:  # e.g. the repository is unreachable right now
                log.warning("drill of site %s not run: %s", site_id, exc)
    return results
