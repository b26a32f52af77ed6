"""Loopback sites for the security probe tests: well kept, exposed, soft-404, WordPress.

Each is a real aiohttp server the probe reaches over TCP (and TLS with a test-CA
certificate where the test says so); what a site serves is a table of path -> response.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import trustme
from aiohttp import web

from tests.probes.conftest import server_context

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'self'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
HOME = "<!doctype html><html><head><title>Bäckerei</title></head><body><h1>Brot</h1></body></html>"
WP_HOME = (
    "<!doctype html><html><head><title>Blog</title>"
    '<meta name="generator" content="WordPress 6.8.1" />'
    "<link rel='stylesheet' href='/wp-includes/css/dist/block-library/style.min.css?ver=6.8.1' />"
    "</head><body class='home'><p>Hallo</p></body></html>"
)
GIT_HEAD = "ref: refs/heads/main\n"
GIT_CONFIG = (
    '[core]\n\trepositoryformatversion = 0\n[remote "origin"]\n'
    "\turl = https://deploy:s3cret@git.example.com/site.git\n"
)
ENV = "APP_KEY=base64:abc\nDB_PASSWORD=hunter2\nMAIL_HOST=smtp.example.com\n"
WP_CONFIG = (
    "<?php\ndefine( 'DB_NAME', 'wp' );\ndefine( 'DB_USER', 'wp' );\n"
    "define( 'DB_PASSWORD', 'hunter2' );\n$table_prefix = 'wp_';\n"
)
DEBUG_LOG = (
    "[06-Dec-2026 10:00:00 UTC] PHP Warning:  Undefined variable $x in "
    "/srv/sites/wp/wp-content/themes/t/functions.php on line 3\n"
)
DUMP = "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n--\nCREATE TABLE `wp_users` (\n"
PHPINFO = (
    "<!DOCTYPE html><html><head><title>PHP 8.2.26 - phpinfo()</title></head>"
    '<body><h1 class="p">PHP Version 8.2.26</h1></body></html>'
)
LISTING = (
    "<html><head><title>Index of /wp-content/uploads</title></head><body>"
    '<h1>Index of /wp-content/uploads</h1><a href="2026/">2026/</a></body></html>'
)
SERVER_STATUS = (
    "<!DOCTYPE HTML><html><head><title>Apache Status</title></head><body>"
    "<h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1></body></html>"
)
XMLRPC_METHODS = (
    '<?xml version="1.0" encoding="UTF-8"?><methodResponse><params><param><value><array><data>'
    "<value><string>system.multicall</string></value>"
    "<value><string>system.listMethods</string></value>"
    "<value><string>wp.getUsersBlogs</string></value>"
    "</data></array></value></param></params></methodResponse>"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Answer:
    """What one path answers."""

    body: bytes | str = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"


def page(body: str, status: int = 200, **headers: str) -> Answer:
    return Answer(body, status, headers, "text/html")


def text(body: str | bytes, status: int = 200) -> Answer:
    return Answer(body, status)


def redirect(location: str, status: int = 301) -> Answer:
    return Answer(b"", status, {"Location": location})


@dataclass
class Site:
    """A table-driven site: ``paths`` (path with query) -> answer, else ``fallback``."""

    paths: dict[str, Answer]
    fallback: Callable[[web.Request], Answer] = field(
        default=lambda request: Answer("Not Found", 404)
    )
    headers: Mapping[str, str] = field(default_factory=dict)  # on every answer
    handlers: dict[str, Handler] = field(default_factory=dict)  # paths with their own code
    seen: list[str] = field(default_factory=list)
    active: int = 0
    peak: int = 0

    def app(self) -> web.Application:
        app = web.Application()

        async def handler(request: web.Request) -> web.StreamResponse:
            self.seen.append(request.path_qs)
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                await asyncio.sleep(0)  # let concurrent requests overlap, as a real server's do
                if request.path_qs in self.handlers:
                    return await self.handlers[request.path_qs](request)
                key = f"{request.method} {request.path_qs}"
                answer = self.paths.get(key) or self.paths.get(request.path_qs)
                if answer is None:
                    answer = self.fallback(request)
                body = answer.body.encode() if isinstance(answer.body, str) else answer.body
                headers = {**self.headers, **answer.headers}
                return web.Response(
                    body=body,
                    status=answer.status,
                    headers=headers,
                    content_type=None if "Location" in headers else answer.content_type,
                )
            finally:
                self.active -= 1

        app.router.add_route("*", "/{tail:.*}", handler)
        return app


def well_kept(home: str = HOME) -> Site:
    """A site as it should be: real 404s, every header."""
    return Site({"/": page(home)}, headers=GOOD_HEADERS)


def catch_all(home: str = HOME) -> Site:
    """A soft-404 site: every path answers 200 with the normal page (a changing token in it,
    as CMS pages carry nonces), and it says which path was asked."""
    counter = iter(range(1_000_000))

    def same_page(request: web.Request) -> Answer:
        html = home.replace("</body>", f"<!-- {request.path} nonce {next(counter):06d} --></body>")
        return page(html)

    return Site({}, fallback=same_page, headers=GOOD_HEADERS)


def tls_context(ca: trustme.CA, *, legacy: bool = False) -> ssl.SSLContext:
    """A server context for 127.0.0.1 from the test CA; ``legacy`` also accepts TLS 1.0/1.1."""
    context = server_context(ca.issue_cert("127.0.0.1"))
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
