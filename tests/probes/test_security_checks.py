"""The security probe's other checks against loopback sites, each with a positive and a
negative case: WordPress user enumeration and XML-RPC, headers, TLS below 1.2 (real
handshakes), mixed content, version leaks, and hostile answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import trustme
from aiohttp import web

from sitekeeper.domain.exposure import SecurityIssue, SecurityReport
from sitekeeper.domain.severity import Severity
from sitekeeper.probes.security.legacy_tls import can_offer
from sitekeeper.probes.security.probe import SecurityOptions, SecurityProbe
from tests.probes.conftest import raw_server, serve
from tests.probes.security_sites import (
    GOOD_HEADERS,
    HOME,
    WP_HOME,
    XMLRPC_METHODS,
    Answer,
    Site,
    page,
    redirect,
    tls_context,
    well_kept,
)


def of(report: SecurityReport, check: str) -> dict[str, SecurityIssue]:
    return {i.item: i for i in report.issues if i.check == check}


async def probe(site: Site, **options: object) -> SecurityReport:
    async with serve(site.app()) as running, SecurityProbe() as prober:
        return await prober.probe(running.url("/"), SecurityOptions.model_validate(options))


async def https_probe(
    site: Site, ca: trustme.CA, ca_file: Path, *, legacy: bool = False
) -> SecurityReport:
    async with (
        serve(site.app(), ssl_context=tls_context(ca, legacy=legacy)) as running,
        SecurityProbe() as prober,
    ):
        return await prober.probe(running.url("/"), SecurityOptions(ca_bundle=str(ca_file)))


def open_wordpress() -> Site:
    """WordPress as installed: authors redirect, the REST API lists users, XML-RPC answers."""
    users = json.dumps([{"id": 1, "slug": "admin", "name": "Admin"}, {"id": 2, "slug": "anna"}])
    return Site(
        {
            "/": page(WP_HOME),
            "/?author=1": redirect("/author/admin/"),
            "/wp-json/wp/v2/users": Answer(users, content_type="application/json"),
            "POST /xmlrpc.php": Answer(XMLRPC_METHODS, content_type="text/xml"),
        },
        headers=GOOD_HEADERS,
    )


async def test_wordpress_user_enumeration_and_xmlrpc_are_info() -> None:
    report = await probe(open_wordpress())
    users = of(report, "user-enumeration")
    assert set(users) == {"/?author=1", "/wp-json/wp/v2/users"}
    assert users["/?author=1"].evidence == "/?author=1 names admin"
    assert users["/wp-json/wp/v2/users"].evidence == "lists admin, anna"
    xmlrpc = of(report, "xmlrpc")["/xmlrpc.php"]
    assert "system.multicall" in xmlrpc.title
    assert {i.severity for i in report.issues} == {Severity.INFO}


async def test_hardened_wordpress_names_nobody() -> None:
    site = Site(
        {
            "/": page(WP_HOME),
            "/?author=1": Answer("Not Found", 404),
            "/wp-json/wp/v2/users": Answer('{"code":"rest_user_cannot_view"}', 401),
            "POST /xmlrpc.php": Answer("Forbidden", 403),
        },
        headers=GOOD_HEADERS,
    )
    report = await probe(site)
    assert of(report, "user-enumeration") == {}
    assert of(report, "xmlrpc") == {}
    assert {"user-enumeration", "xmlrpc"} <= set(report.complete)


async def test_a_site_that_is_not_wordpress_is_not_asked_wordpress_questions() -> None:
    site = well_kept()
    report = await probe(site)
    assert not any("author" in p or "xmlrpc" in p or "wp-" in p for p in site.seen)
    assert report.requests == len(site.seen)


async def test_missing_headers_are_info_and_hsts_is_asked_only_of_https(
    ca: trustme.CA, ca_file: Path
) -> None:
    bare = Site({"/": page(HOME)})
    plain = await probe(bare)
    assert set(of(plain, "header")) == {
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    }
    secure = await https_probe(Site({"/": page(HOME)}), ca, ca_file)
    assert set(of(secure, "header")) == {
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Strict-Transport-Security",
    }
    assert {i.severity for i in secure.issues if i.check == "header"} == {Severity.INFO}


async def test_headers_in_other_spellings_count() -> None:
    """X-Frame-Options instead of CSP, a referrer meta tag (WordPress sends one), a
    leaky policy still flagged."""
    meta = HOME.replace(
        "<head>", "<head><meta name='referrer' content='strict-origin-when-cross-origin' />"
    )
    good = Site(
        {"/": page(meta, **{"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff"})}
    )
    assert of(await probe(good), "header") == {}
    leaky = Site({"/": page(HOME, **{**GOOD_HEADERS, "Referrer-Policy": "unsafe-url"})})
    assert set(of(await probe(leaky), "header")) == {"Referrer-Policy"}


async def test_tls_1_0_and_1_1_accepted_is_medium(ca: trustme.CA, ca_file: Path) -> None:
    assert can_offer("TLSv1") and can_offer("TLSv1.1")  # Debian's OpenSSL 3.0 at SECLEVEL=0
    report = await https_probe(well_kept(), ca, ca_file, legacy=True)
    issue = of(report, "tls-version")["below TLS 1.2"]
    assert issue.severity == Severity.MEDIUM
    assert issue.title == "TLSv1 and TLSv1.1 still accepted"
    modern = await https_probe(well_kept(), ca, ca_file)
    assert of(modern, "tls-version") == {}
    assert modern.handshakes == 2 and "tls-version" in modern.complete


async def test_mixed_content_active_is_medium_passive_low(ca: trustme.CA, ca_file: Path) -> None:
    html = HOME.replace(
        "</head>",
        '<script src="http://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="HTTP://cdn.example/x.css">'
        '<link rel="alternate" href="http://example.com/feed/">'
        "</head>",
    ).replace(
        "</body>", '<img src="http://img.example/a.png"><a href="http://x.example/">x</a></body>'
    )
    mixed = await https_probe(Site({"/": page(html)}, headers=GOOD_HEADERS), ca, ca_file)
    found = of(mixed, "mixed-content")
    assert found["active"].severity == Severity.MEDIUM
    assert found["active"].evidence == "http://cdn.example/x.js, HTTP://cdn.example/x.css"
    assert found["passive"].severity == Severity.LOW
    assert found["passive"].evidence == "http://img.example/a.png"
    # The same page over plain http is not "mixed"; https resources are fine.
    assert of(await probe(Site({"/": page(html)}, headers=GOOD_HEADERS)), "mixed-content") == {}
    clean = html.replace("http://", "https://").replace("HTTP://", "https://")
    secure = await https_probe(Site({"/": page(clean)}, headers=GOOD_HEADERS), ca, ca_file)
    assert of(secure, "mixed-content") == {}


async def test_version_leaks_reuse_the_fingerprint_readers() -> None:
    site = Site({"/": page(WP_HOME, **{"X-Powered-By": "PHP/8.2.26"})}, headers=GOOD_HEADERS)
    leaks = of(await probe(site), "version-leak")
    assert set(leaks) == {"wordpress", "X-Powered-By"}
    assert "generator meta 'WordPress 6.8.1'" in leaks["wordpress"].evidence
    hidden = Site({"/": page(HOME, **{"X-Powered-By": "PHP"})}, headers=GOOD_HEADERS)
    assert of(await probe(hidden), "version-leak") == {}


async def test_a_site_that_is_down_is_an_error_not_an_exception(free_port: int) -> None:
    async with SecurityProbe() as prober:
        report = await prober.probe(f"http://127.0.0.1:{free_port}/")
    assert report.error is not None and report.error.startswith("home page not reachable")
    assert report.issues == [] and report.complete == []


async def test_hostile_answers_are_bounded() -> None:
    """One request each: an endless body at /.env is read up to the cap (and found), a
    redirect loop for /?author=1 is not followed (no user name), and a 100 kB header on a
    raw server's home page ends that probe with an error and no finding."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        try:
            while True:
                await response.write(b"A=1\nB=2\n" * 1024)
        except (ConnectionResetError, RuntimeError):
            return response

    site = Site(
        {"/": page(WP_HOME), "/?author=1": redirect("/?author=1")},
        headers=GOOD_HEADERS,
        handlers={"/.env": endless},
    )
    report = await probe(site)
    env = of(report, "exposed-file").get("/.env")
    assert env is not None and env.severity == Severity.CRITICAL  # it is one, capped at 32 KiB
    assert of(report, "user-enumeration") == {}
    assert site.seen.count("/.env") == 1 and site.seen.count("/?author=1") == 1

    async def huge_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 100_000 + b"\r\n\r\n")
        await writer.drain()

    async with raw_server(huge_header) as hostile, SecurityProbe() as prober:
        broken = await prober.probe(hostile.url("/"))
    assert broken.error is not None and broken.requests == 1 and broken.issues == []
