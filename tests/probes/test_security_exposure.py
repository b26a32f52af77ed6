"""The security probe against loopback sites: exposed files are found with their severity;
a well-kept site and a site that answers every path with its normal page are not flagged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import trustme
from aiohttp import web

from sitekeeper.domain.exposure import SecurityReport
from sitekeeper.domain.severity import Severity
from sitekeeper.probes.security.probe import SecurityOptions, SecurityProbe
from tests.probes.conftest import serve
from tests.probes.security_sites import (
    DEBUG_LOG,
    DUMP,
    ENV,
    GIT_CONFIG,
    GIT_HEAD,
    GOOD_HEADERS,
    LISTING,
    PHPINFO,
    SERVER_STATUS,
    WP_CONFIG,
    WP_HOME,
    Answer,
    Site,
    catch_all,
    page,
    redirect,
    text,
    tls_context,
    well_kept,
)


def exposed(report: SecurityReport) -> dict[str, Severity]:
    return {i.item: i.severity for i in report.issues if i.check == "exposed-file"}


async def probe(site: Site, **options: object) -> SecurityReport:
    async with serve(site.app()) as running, SecurityProbe() as prober:
        return await prober.probe(running.url("/"), SecurityOptions.model_validate(options))


async def test_a_well_kept_site_has_no_finding_at_all() -> None:
    report = await probe(well_kept())
    assert report.error is None
    assert report.issues == []
    assert "exposed-file" in report.complete and "header" in report.complete


async def test_a_well_kept_https_site_has_nothing_above_info(ca: trustme.CA, ca_file: Path) -> None:
    site = well_kept(WP_HOME)  # WordPress names its version: that is "info", no more
    site.paths["/?author=1"] = Answer("Not Found", 404)
    async with (
        serve(site.app(), ssl_context=tls_context(ca)) as running,
        SecurityProbe() as prober,
    ):
        report = await prober.probe(running.url("/"), SecurityOptions(ca_bundle=str(ca_file)))
    assert report.error is None
    assert report.worst() == Severity.INFO
    assert {(i.check, i.item) for i in report.issues} == {("version-leak", "wordpress")}
    assert report.handshakes == 2  # TLS 1.0 and 1.1 were offered and refused
    assert "tls-version" in report.complete


async def test_every_exposed_file_is_found_with_its_severity() -> None:
    site = Site(
        {
            "/": page(WP_HOME),
            "/.git/HEAD": text(GIT_HEAD),
            "/.git/config": text(GIT_CONFIG),
            "/.env": text(ENV),
            "/wp-config.php.bak": text(WP_CONFIG),
            "/wp-config.php~": text(WP_CONFIG),
            "/.wp-config.php.swp": text(b"b0VIM 9.0\x00\x00" + WP_CONFIG.encode()),
            "/wp-content/debug.log": text(DEBUG_LOG),
            "/backup.sql": text(DUMP),
            "/db.sql.gz": text(b"\x1f\x8b\x08\x00" + b"\x00" * 40),
            "/site.zip": text(b"PK\x03\x04" + b"\x00" * 40),
            "/phpinfo.php": page(PHPINFO),
            "/wp-content/uploads/": page(LISTING),
            "/server-status": page(SERVER_STATUS),
        },
        headers=GOOD_HEADERS,
    )
    report = await probe(site)
    assert exposed(report) == {
        "/.git/HEAD": Severity.HIGH,
        "/.git/config": Severity.CRITICAL,  # its remote URL carries a password
        "/.env": Severity.CRITICAL,
        "/wp-config.php.bak": Severity.CRITICAL,
        "/wp-config.php~": Severity.CRITICAL,
        "/.wp-config.php.swp": Severity.CRITICAL,
        "/wp-content/debug.log": Severity.MEDIUM,
        "/backup.sql": Severity.CRITICAL,
        "/db.sql.gz": Severity.CRITICAL,
        "/site.zip": Severity.HIGH,
        "/phpinfo.php": Severity.MEDIUM,
        "/wp-content/uploads/": Severity.LOW,
        "/server-status": Severity.MEDIUM,
    }
    git = next(i for i in report.issues if i.item == "/.git/HEAD")
    assert git.evidence == "ref: refs/heads/main"
    assert git.fix and git.title
    assert all(i.fix for i in report.issues)


async def test_a_soft_404_site_has_no_exposure_finding() -> None:
    """Every path answers 200 with the site's page (a nonce and the path in it)."""
    report = await probe(catch_all(WP_HOME))
    assert report.error is None
    assert exposed(report) == {}
    assert "exposed-file" in report.complete


async def test_a_soft_404_site_with_one_real_leak_has_only_that() -> None:
    site = catch_all()
    site.paths["/.git/HEAD"] = text("0123456789abcdef0123456789abcdef01234567\n")
    report = await probe(site)
    assert exposed(report) == {"/.git/HEAD": Severity.HIGH}


async def test_a_page_that_only_mentions_the_thing_is_not_the_thing() -> None:
    """HTML pages at the paths (a blog post about .env files, an error page): not files."""
    about_env = page("<html><body><pre>APP_KEY=...\nDB_PASSWORD=...</pre></body></html>")
    site = well_kept()
    site.paths |= {
        "/.env": about_env,
        "/.git/HEAD": page("<html><body>ref: refs/heads/main</body></html>"),
        "/backup.sql": page("<html><body>CREATE TABLE is SQL</body></html>"),
        "/site.zip": Answer("Forbidden", 403),
    }
    report = await probe(site)
    assert exposed(report) == {}


async def test_a_redirect_to_another_server_is_not_the_site_exposing_it() -> None:
    """The other server really serves a .env; the probed site only points there."""
    elsewhere = Site({"/.env": text(ENV)})
    async with serve(elsewhere.app(), host="127.0.0.2") as other:
        site = well_kept()
        site.paths["/.env"] = redirect(other.url("/.env"), 302)
        report = await probe(site)
    assert exposed(report) == {}
    assert elsewhere.seen == []


async def test_checks_stay_within_the_budget_and_the_per_ip_limit() -> None:
    site = catch_all(WP_HOME)
    async with serve(site.app()) as running, SecurityProbe(per_ip_concurrency=2) as prober:
        report = await prober.probe(running.url("/"))
        small = await prober.probe(running.url("/"), SecurityOptions(max_requests=5))
    assert site.peak <= 2
    assert report.requests == len(site.seen) - small.requests
    assert report.requests <= 40
    assert small.requests == 5
    assert "exposed-file" not in small.complete  # what it did not ask is unknown, not clean
    assert any("budget of 5 requests" in n for n in small.notes)


async def test_a_stalled_path_leaves_its_check_incomplete_and_the_others_done() -> None:
    never = asyncio.Event()

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"ref: ")
        await never.wait()  # the rest never comes
        return response

    site = well_kept()
    site.handlers["/.git/HEAD"] = drip
    async with serve(site.app()) as running, SecurityProbe(request_timeout=0.5) as prober:
        report = await prober.probe(running.url("/"))
        never.set()  # the server may stop now
    assert "exposed-file" not in report.complete
    assert "header" in report.complete
    assert any(n.startswith("/.git/HEAD: no answer within 0.5 s") for n in report.notes)


async def test_a_listing_served_for_every_path_is_the_catch_all_not_an_exposed_folder() -> None:
    """A server that answers any path with the same listing: the random path gets it too."""
    listing = LISTING.replace("</body>", f"<p>{WP_HOME}</p></body>")  # a WordPress in it
    report = await probe(catch_all(listing))
    assert "/wp-content/uploads/" not in exposed(report)
    assert "exposed-file" in report.complete


async def test_a_busy_answer_is_unknown_not_absent() -> None:
    """503/429 say "not now": the path's check stays open; a busy home page is an error."""
    site = well_kept()
    site.paths["/.git/HEAD"] = Answer("Service Unavailable", 503)
    report = await probe(site)
    assert report.error is None
    assert "exposed-file" not in report.complete and "header" in report.complete
    assert "/.git/HEAD: HTTP 503, the server is busy" in report.notes
    down = Site({}, fallback=lambda request: Answer("Too Many Requests", 429))
    refused = await probe(down)
    assert refused.error == "home page not reachable: /: HTTP 429, the server is busy"
    assert refused.complete == []


async def test_a_home_page_that_sends_visitors_to_another_site_is_not_probed_there() -> None:
    """A hacked site redirecting to a spam domain: that domain is not the client's."""
    elsewhere = catch_all()
    async with serve(elsewhere.app(), host="127.0.0.2") as other:
        report = await probe(Site({"/": redirect(other.url("/"), 302)}))
    assert report.error == "home page redirects to another site: 127.0.0.2"
    assert elsewhere.seen == ["/"] and report.issues == []
