"""The security probe against hostile answers and checks that cannot finish: markup and
JSON built to make a parser or a regex take minutes are read in one pass; a check that
raises, fails or does not apply leaves its issue type out of ``complete``."""

from __future__ import annotations

import pytest
from yarl import URL

from sitekeeper.cms.wordpress import outside_checks as wordpress
from sitekeeper.domain.exposure import SecurityIssue, SecurityReport
from sitekeeper.probes import rdap
from sitekeeper.probes.security import exposed_files, headers, legacy_tls
from sitekeeper.probes.security.checks import CHECKS, SiteView, applies, finds
from sitekeeper.probes.security.fetch import Page, Request, SiteFetcher, Spent
from sitekeeper.probes.security.mixed_content import insecure_resources
from sitekeeper.probes.security.probe import SecurityOptions, SecurityProbe
from tests.probes.conftest import serve
from tests.probes.security_sites import WP_HOME, Answer, Site, page, well_kept

HOSTILE = pytest.mark.timeout(20)  # each took seconds to minutes before; now milliseconds


def html(body: bytes | str, status: int = 200) -> Page:
    raw = body.encode() if isinstance(body, str) else body
    return Page("https://site.test/", status, {}, raw)


@HOSTILE
def test_mixed_content_reads_hostile_markup_in_one_pass() -> None:
    real = '<script src="http://cdn.test/x.js"></script><img src="http://img.test/a.png">'
    for junk in ("<a " * 340_000, "<img " * 200_000, '<img a="' * 120_000, "<" * 999_000):
        assert insecure_resources(junk) == ([], [])
        active, passive = insecure_resources(junk[:200_000] + real)
        assert (active, passive) == (["http://cdn.test/x.js"], ["http://img.test/a.png"])


def test_mixed_content_reads_tags_as_a_browser_loads_them() -> None:
    markup = (
        '<html><!-- <script src="http://old.test/x.js"></script> -->'
        "<script>document.write(\"<img src='http://in-script.test/'>\");</script>"
        '<LINK REL="stylesheet" HREF="http://css.test/s.css"><link rel=icon href=http://ico.test/>'
        "<IMG SRC='http://b.test/i.png' srcset=\"http://b.test/1.png 1x, https://b.test/2.png 2x\">"
        '<object data=http://o.test/x></object><img alt="a" src="http://e.test/?a=1&amp;b=2">'
        '<script src="https://ok.test/x.js"></script><iframe src = "http://f.test/">'
    )
    active, passive = insecure_resources(markup)
    assert active == ["http://css.test/s.css", "http://o.test/x", "http://f.test/"]
    assert passive == ["http://b.test/i.png", "http://b.test/1.png", "http://e.test/?a=1&b=2"]


@HOSTILE
def test_an_env_pattern_does_not_backtrack_over_blank_lines() -> None:
    env = next(e for e in exposed_files.PATHS if e.path == "/.env")
    for junk in (b"\n" * 32_768, b" \n" * 16_000, b"\t\n" * 16_000):
        assert not env.looks(html(junk))
    assert env.looks(html(b"\n\n  export APP_KEY=x\n\tDB_PASSWORD = y\n"))


@HOSTILE
def test_a_meta_referrer_is_found_in_one_pass_over_hostile_markup() -> None:
    missing = headers.referrer(html(b"<meta " * 40_000))
    assert missing is not None and missing.title == "No Referrer-Policy"
    for tag in (
        b'<meta name="referrer" content="unsafe-url">',
        b"<META CONTENT='unsafe-url' NAME='referrer' />",
    ):
        leaky = headers.referrer(html(b"<meta " * 30_000 + tag))
        assert leaky is not None and leaky.title == "Referrer-Policy leaks full URLs"
    kept = html(b'<meta name="viewport" content="x"><meta name="referrer" content="same-origin">')
    assert headers.referrer(kept) is None


@HOSTILE
def test_the_author_class_is_read_from_the_first_body_tag_only() -> None:
    assert wordpress.author_name(html(b"<body " * 6_000)) is None
    assert wordpress.author_name(html(b"<body class='" + b"x" * 32_000)) is None
    named = b"<html><body class='archive author author-anna author-2'><p>"
    assert wordpress.author_name(html(named)) == "anna"


def test_json_nested_too_deep_is_no_answer_not_an_exception() -> None:
    deep = b"[" * 30_000
    assert wordpress.rest_users(html(deep)) == []
    with pytest.raises(rdap.RdapError, match="not JSON"):
        rdap.parse_domain("example.com", deep)


def test_config_copies_and_the_cms_exposed_files_checks() -> None:
    copies = exposed_files.config_copies("/wp-config.php", (".bak", "~", ".swp"))
    assert [c.path for c in copies] == [
        "/wp-config.php.bak",
        "/wp-config.php~",
        "/.wp-config.php.swp",
        "/wp-config.php.swp",
    ]
    assert copies[2].looks is exposed_files.VIM_SWAP and copies[0].looks is exposed_files.PHP_CONFIG
    assert copies[0].title == "Copy of wp-config.php readable (/wp-config.php.bak)"
    for cms in ("wordpress", "joomla", "drupal"):
        check = CHECKS.get(f"{cms}-exposed-file")
        assert finds(f"{cms}-exposed-file", check) == "exposed-file"
        assert applies(check, cms) and not applies(check, None) and not applies(check, "other")
    assert applies(CHECKS.get("exposed-file"), None)
    assert not applies(CHECKS.get("xmlrpc"), None)


async def probe(site: Site, cms: str | None = None) -> SecurityReport:
    async with serve(site.app()) as running, SecurityProbe() as prober:
        return await prober.probe(running.url("/"), SecurityOptions(), cms=cms)


def wordpress_site() -> Site:
    site = well_kept(WP_HOME)
    site.paths["/?author=1"] = Answer("Not Found", 404)
    return site


async def test_a_check_that_raises_is_a_note_and_the_others_finish() -> None:
    class Broken:
        async def run(self, site: SiteView) -> list[SecurityIssue]:
            raise RecursionError("maximum recursion depth exceeded")

    CHECKS.add("broken", Broken)
    try:
        report = await probe(well_kept())
    finally:
        CHECKS.remove("broken")
    assert report.error is None
    assert "broken: RecursionError: maximum recursion depth exceeded" in report.notes
    assert "broken" not in report.complete
    assert {"exposed-file", "header", "mixed-content", "version-leak"} <= set(report.complete)


async def test_a_cms_exposed_files_check_that_fell_short_keeps_the_type_open() -> None:
    """The core's paths all answered, WordPress's config copy did not: an open wp-config
    finding must not resolve because the core's exposed-file check finished."""
    site = wordpress_site()
    site.paths["/wp-config.php.bak"] = Answer("Service Unavailable", 503)
    report = await probe(site)
    assert report.error is None
    assert "exposed-file" not in report.complete
    assert {"header", "user-enumeration", "xmlrpc"} <= set(report.complete)
    whole = await probe(wordpress_site())
    assert "exposed-file" in whole.complete


async def test_checks_of_another_cms_do_not_run_and_do_not_count() -> None:
    site = well_kept()  # no CMS named
    report = await probe(site)
    assert report.error is None
    assert not any(path.startswith(("/wp-", "/?author", "/xmlrpc")) for path in site.seen)
    assert "user-enumeration" not in report.complete and "xmlrpc" not in report.complete
    assert "exposed-file" in report.complete  # the core's paths, all of them asked
    assert "wordpress-exposed-file" not in report.complete  # types, never check names


async def test_an_error_home_page_leaves_the_header_check_unknown() -> None:
    report = await probe(Site({"/": page("<html><body>Oops</body></html>", 500)}))
    assert report.error is None
    assert "header" not in report.complete
    assert "header: the home page answered HTTP 500, not checked" in report.notes


async def test_a_legacy_version_this_openssl_cannot_offer_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def send(request: Request) -> Page:
        raise AssertionError("no HTTP")

    monkeypatch.setattr(legacy_tls, "can_offer", lambda version: version != "TLSv1")
    tried: list[str] = []

    async def refused(version: str) -> str | None:
        tried.append(version)
        return None

    fetcher = SiteFetcher(URL("https://site.test/"), send, 1.0, Spent(10))
    view = SiteView(html(b"<html></html>"), None, [], None, fetcher, refused)
    assert await legacy_tls.LegacyTls().run(view) == []
    assert tried == ["TLSv1.1"]
    assert fetcher.failed  # TLS 1.0 was not tried: what the server does with it is unknown
    assert fetcher.spent.notes == ["this OpenSSL cannot offer TLSv1: not tried"]
