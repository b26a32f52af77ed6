"""WordPress from outside: its exposed files, user names anyone can list, and XML-RPC.

Both are WordPress's defaults, so they are hardening advice ("info"), not alarms: they
give a password-guessing bot the log-in names (``/?author=1``, the REST users route)
and a way to try many passwords per request (XML-RPC's ``system.multicall``).
"""

from __future__ import annotations

import asyncio
import json
import re

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.security.checks import CHECKS, SiteView
from sitekeeper.probes.security.exposed_files import (
    LISTING,
    Exposable,
    cms_exposed_files,
    config_copies,
    text_file,
)
from sitekeeper.probes.security.fetch import Page, Request

CMS = "wordpress"  # the checks here run on sites of this kind only (their ``cms``)

_AUTHOR_PATH = re.compile(r"/author/([^/?#\s]{1,60})/?")
# The first <body> tag (no run crosses a '<': a page of "<body " costs one pass), then
# its class.
_BODY_TAG = re.compile(rb"<body\b([^<>]{0,2000})>", re.IGNORECASE)
_AUTHOR_CLASS = re.compile(rb"\bclass=[\"'][^\"']{0,2000}?\bauthor-([a-z0-9_.-]{1,60})\b")
_SLUGS = re.compile(rb"\"slug\"\s*:\s*\"([^\"\\]{1,60})\"")
LIST_METHODS = (
    b'<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName>'
    b"<params></params></methodCall>"
)
MAX_NAMES = 5
_ENUM_FIX = (
    "Block /?author=N and the REST users route for visitors (a security plugin or a "
    "rewrite rule), and use log-in names that differ from the public author names."
)


def _names(found: list[str]) -> str:
    unique = list(dict.fromkeys(clean(n, 60) for n in found))
    more = " …" if len(unique) > MAX_NAMES else ""
    return ", ".join(unique[:MAX_NAMES]) + more


def author_name(page: Page | None) -> str | None:
    """The user name ``/?author=1`` gives away: a redirect to /author/NAME/, or the page's
    body class (a site that serves the archive without redirecting)."""
    if page is None:
        return None
    if page.location is not None:
        match = _AUTHOR_PATH.search(page.location)
        return match.group(1) if match else None
    if page.status == 200:
        body = _BODY_TAG.search(page.body)
        found = _AUTHOR_CLASS.search(body.group(1)) if body else None
        return found.group(1).decode("ascii", "replace") if found else None
    return None


def rest_users(page: Page | None) -> list[str]:
    """The user slugs the REST route lists (empty when it lists none or refuses)."""
    if page is None or page.status != 200:
        return []
    try:
        users = json.loads(page.body)
    except (ValueError, RecursionError):  # RecursionError: 30,000 '[' in a row
        users = None
    if isinstance(users, list):
        return [u["slug"] for u in users if isinstance(u, dict) and isinstance(u.get("slug"), str)]
    if page.truncated:  # a huge listing: the slugs in what was read
        return [m.decode("utf-8", "replace") for m in _SLUGS.findall(page.body)]
    return []


@CHECKS.register("user-enumeration")
class UserEnumeration:
    """``/?author=1`` and ``/wp-json/wp/v2/users`` on WordPress sites."""

    cms = CMS

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """One issue per route that names users."""
        author, listing = await asyncio.gather(
            site.fetcher.get("/?author=1"), site.fetcher.get("/wp-json/wp/v2/users")
        )
        issues = []
        name = author_name(author)
        if name is not None:
            issues.append(
                SecurityIssue(
                    "user-enumeration",
                    "/?author=1",
                    Severity.INFO,
                    "User names can be listed through /?author=N",
                    _ENUM_FIX,
                    f"/?author=1 names {_names([name])}",
                )
            )
        slugs = rest_users(listing)
        if slugs:
            issues.append(
                SecurityIssue(
                    "user-enumeration",
                    "/wp-json/wp/v2/users",
                    Severity.INFO,
                    "User names listed by the REST API (/wp-json/wp/v2/users)",
                    _ENUM_FIX,
                    f"lists {_names(slugs)}",
                )
            )
        return issues


@CHECKS.register("xmlrpc")
class XmlRpc:
    """``/xmlrpc.php`` answering ``system.listMethods`` on WordPress sites."""

    cms = CMS

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """An issue when XML-RPC lists its methods (``system.multicall`` named if offered)."""
        request = Request(
            site.fetcher.url("/xmlrpc.php"),
            method="POST",
            data=LIST_METHODS,
            headers={"Content-Type": "text/xml"},
        )
        page = await site.fetcher.fetch(request)
        if page is None or page.status != 200 or b"<methodResponse" not in page.body:
            return []
        if b"<fault>" in page.body or b"system.listMethods" not in page.body:
            return []
        multicall = b"system.multicall" in page.body
        return [
            SecurityIssue(
                "xmlrpc",
                "/xmlrpc.php",
                Severity.INFO,
                "XML-RPC is on" + (" with system.multicall" if multicall else ""),
                "Turn XML-RPC off (a security plugin, or deny /xmlrpc.php) unless an app "
                "or Jetpack needs it.",
                "system.listMethods answered" + (", system.multicall offered" if multicall else ""),
            )
        ]


PATHS: tuple[Exposable, ...] = (
    *config_copies("/wp-config.php", (".bak", "~", ".save", ".old", ".orig", ".swp")),
    Exposable(
        "/wp-content/debug.log",
        text_file(rb"PHP (?:Fatal error|Warning|Notice|Deprecated|Parse error|Stack trace):"),
        Severity.MEDIUM,
        "WordPress debug log public (/wp-content/debug.log)",
        "Delete debug.log and set WP_DEBUG_LOG to a path outside the web root (or turn it off).",
    ),
    Exposable(
        "/wp-content/uploads/",
        LISTING,
        Severity.LOW,
        "Directory listing of the uploads folder",
        "Turn directory listings off (Options -Indexes) or add an empty index.php.",
    ),
)

ExposedFiles = cms_exposed_files(CMS, PATHS)
