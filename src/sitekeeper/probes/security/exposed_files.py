"""Exposed files and directories: repositories, secrets, backups, dumps, logs, listings.

Only a real hit counts. A path is a hit when it answers 200, its content looks like
the thing (a Git HEAD starts with ``ref:``, a dump has ``CREATE TABLE``, an archive
its magic bytes) and it is not the site's answer to any path (the soft-404 baseline:
a site that serves its normal page for everything is not exposing anything).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import ClassVar

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean_bytes
from sitekeeper.probes.security.checks import CHECKS, SecurityCheck, SiteView
from sitekeeper.probes.security.fetch import Page

Looks = Callable[[Page], bool]
CHECK = "exposed-file"  # the issue kind of every exposed path, whoever asks for it


def text_file(pattern: bytes, flags: int = re.MULTILINE) -> Looks:
    """A plain-text file (not an HTML page) in which ``pattern`` occurs."""
    regex = re.compile(pattern, flags)
    return lambda page: not page.is_html and regex.search(page.body) is not None


def _magic(*prefixes: bytes) -> Looks:
    """A binary file starting with one of ``prefixes``."""
    return lambda page: page.body.startswith(prefixes)


def _html(pattern: bytes) -> Looks:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda page: regex.search(page.body) is not None


_GZIP, _ZIP = b"\x1f\x8b", b"PK\x03\x04"
_SQL = text_file(
    rb"^(?:CREATE TABLE|INSERT INTO|-- MySQL dump|-- MariaDB dump|-- PostgreSQL database dump)",
    re.MULTILINE | re.IGNORECASE,
)
PHP_CONFIG = text_file(
    rb"define\s*\(\s*['\"]DB_(?:NAME|USER|PASSWORD)['\"]|class JConfig|\$databases"
)
VIM_SWAP = _magic(b"b0VIM")
LISTING = _html(rb"<title>\s*Index of /")
_PHPINFO = _html(rb"phpinfo\(\)\s*</title>|<h1 class=\"p\">PHP Version")


@dataclass(frozen=True, slots=True)
class Exposable:
    """A path that must not be public, how to recognise it, and what to tell the technician."""

    path: str
    looks: Looks
    severity: Severity
    title: str
    fix: str


CONFIG_FIX = (
    "Delete the copy from the web root (keep backups outside it); change the database password."
)
_DUMP_FIX = "Move the file out of the web root and delete it there; treat the data as leaked."
_ARCHIVE_FIX = "Move the archive out of the web root; it holds the site's code and configuration."

PATHS: tuple[Exposable, ...] = (
    Exposable(
        "/.git/HEAD",
        text_file(rb"\A(?:ref: refs/|[0-9a-f]{40}\s*\Z)"),
        Severity.HIGH,
        "Git repository downloadable (/.git/)",
        "Remove .git from the web root or deny /.git in the web server; check it for secrets.",
    ),
    Exposable(
        "/.env",
        # [ \t], not \s: a run of blank lines must not be tried from each of its lines
        text_file(rb"^[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=.*\n"
                  rb"[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*="),
        Severity.CRITICAL,
        "Environment file with secrets downloadable (/.env)",
        "Deny dot-files in the web server (or move .env out of the web root); rotate its secrets.",
    ),
    *(
        Exposable(path, _SQL if path.endswith(".sql") else _magic(_GZIP), Severity.CRITICAL,
                  f"Database dump downloadable ({path})", _DUMP_FIX)
        for path in ("/backup.sql", "/dump.sql", "/db.sql", "/database.sql", "/db.sql.gz")
    ),
    *(
        Exposable(path, _magic(_ZIP) if path.endswith(".zip") else _magic(_GZIP), Severity.HIGH,
                  f"Site archive downloadable ({path})", _ARCHIVE_FIX)
        for path in ("/backup.zip", "/site.zip", "/www.zip", "/backup.tar.gz", "/www.tar.gz")
    ),
    *(
        Exposable(path, _PHPINFO, Severity.MEDIUM, f"phpinfo() page public ({path})",
                  "Delete the phpinfo page; it shows paths, modules and environment to anyone.")
        for path in ("/phpinfo.php", "/info.php")
    ),
    Exposable(
        "/server-status",
        _html(rb"Apache Server Status for|^Active connections: \d+"),
        Severity.MEDIUM,
        "Web server status page public (/server-status)",
        "Allow /server-status only from localhost (Require local) or turn mod_status off.",
    ),
)  # fmt: skip

_GIT_CONFIG = text_file(rb"^\[core\]")
_CREDENTIALS_IN_URL = re.compile(rb"://[^/\s:@]+:[^/\s@]+@")
SIMILAR = 0.9  # a body this close to the random path's answer is the site's catch-all page


def soft_404(page: Page, baseline: Page | None) -> bool:
    """Whether ``page`` is the site's answer to any path (compared with the random path's)."""
    if baseline is None or baseline.status != page.status or not baseline.body:
        return False
    if page.body == baseline.body:
        return True
    matcher = SequenceMatcher(None, page.body[:4096], baseline.body[:4096], autojunk=False)
    return matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR


def is_hit(page: Page | None, baseline: Page | None, looks: Looks) -> bool:
    """A real hit: 200, content that looks like the thing, not the catch-all page."""
    return (
        page is not None
        and page.status in (200, 206)
        and bool(page.body)
        and looks(page)
        and not soft_404(page, baseline)
    )


def _evidence(page: Page) -> str:
    """The first line of what was served (bounded, cleaned: it is the site's text)."""
    first = page.body[:200].split(b"\n", 1)[0]
    if first.startswith((_GZIP, _ZIP, b"b0VIM")):
        return f"HTTP {page.status}, {len(page.body)}{'+' if page.truncated else ''} bytes"
    return clean_bytes(first, 120)


async def exposed(site: SiteView, wanted: Sequence[Exposable]) -> list[SecurityIssue]:
    """One issue per path of ``wanted`` that is a real hit on ``site`` (asked at once; the
    per-IP slots keep the asking polite). The CMS packages ask their own paths with it."""
    pages = await asyncio.gather(*(site.fetcher.get(e.path) for e in wanted))
    return [
        SecurityIssue(CHECK, e.path, e.severity, e.title, e.fix, _evidence(page))
        for e, page in zip(wanted, pages, strict=True)
        if page is not None and is_hit(page, site.baseline, e.looks)
    ]


@CHECKS.register(CHECK)
class ExposedFiles:
    """Asks each path of ``PATHS`` (any site's); a CMS's own paths are its package's check."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """The exposed paths of ``site``; with a public Git HEAD, its config too."""
        issues = await exposed(site, PATHS)
        if any(i.item == "/.git/HEAD" for i in issues):
            issues += await self._git_config(site)
        return issues

    async def _git_config(self, site: SiteView) -> list[SecurityIssue]:
        """With HEAD public, the config too: a remote URL with a password in it is worse."""
        page = await site.fetcher.get("/.git/config")
        if page is None or not is_hit(page, site.baseline, _GIT_CONFIG):
            return []
        if _CREDENTIALS_IN_URL.search(page.body):
            return [
                SecurityIssue(
                    "exposed-file",
                    "/.git/config",
                    Severity.CRITICAL,
                    "Git config with a password in a remote URL downloadable",
                    "Remove .git from the web root and change the repository password now.",
                    "a remote URL with user:password@",
                )
            ]
        return [
            SecurityIssue(
                "exposed-file",
                "/.git/config",
                Severity.HIGH,
                "Git config downloadable (/.git/config)",
                "Remove .git from the web root or deny /.git in the web server.",
                _evidence(page),
            )
        ]


def config_copies(file: str, suffixes: Sequence[str]) -> tuple[Exposable, ...]:
    """Copies of a CMS's config ``file`` (``/wp-config.php``) that editors and backups leave
    next to it: ``file`` + each suffix (``.bak``, ``~``, ``.old``); ``.swp`` asks for Vim's
    swap file (``.NAME.swp``) and a copy named ``NAME.swp``. PHP is not run in them, so
    anyone reads the database password."""
    folder, _, name = file.rpartition("/")
    paths = [
        path
        for suffix in suffixes
        for path in ((f"{folder}/.{name}.swp",) if suffix == ".swp" else ()) + (file + suffix,)
    ]
    return tuple(
        Exposable(
            path,
            VIM_SWAP if path.endswith(".swp") else PHP_CONFIG,
            Severity.CRITICAL,
            f"Copy of {name} readable ({path})",
            CONFIG_FIX,
        )
        for path in paths
    )


def cms_exposed_files(cms: str, paths: Sequence[Exposable]) -> type[SecurityCheck]:
    """Register (as ``<cms>-exposed-file``) and return the check that asks a CMS's own
    ``paths`` on that CMS's sites; its hits are ``exposed-file`` issues like the core's."""
    of, wanted = cms, tuple(paths)

    class CmsExposedFiles:
        """A CMS's own paths that must not be public (config copies, logs, listings)."""

        cms: ClassVar[str] = of
        finds: ClassVar[str] = CHECK

        async def run(self, site: SiteView) -> list[SecurityIssue]:
            """The exposed paths of the CMS's ``wanted`` on ``site``."""
            return await exposed(site, wanted)

    CmsExposedFiles.__name__ = CmsExposedFiles.__qualname__ = f"ExposedFiles[{cms}]"
    return CHECKS.add(f"{cms}-exposed-file", CmsExposedFiles)
