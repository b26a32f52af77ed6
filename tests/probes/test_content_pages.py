"""The content checks on crafted pages: each detector finds its hack and leaves the
legitimate look-alike alone, and hostile markup, CSS, sitemaps and URLs are read within
fixed bounds (the timeout guards what used to take seconds to minutes)."""

from __future__ import annotations

import pytest

from sitekeeper.domain.seo import (
    CLOAKING,
    DEFACEMENT,
    FORBIDDEN_WORD,
    HIDDEN_LINK,
    IFRAME,
    NEW_SCRIPT,
    SPAM_LINK,
)
from sitekeeper.domain.severity import Severity
from sitekeeper.probes.content import compare
from sitekeeper.probes.content.cloaking import CRAWLER, PHONE, Variant, cloaked
from sitekeeper.probes.content.hidden_css import hidden_selectors, hides
from sitekeeper.probes.content.page_facts import PageFacts, read_page
from sitekeeper.probes.content.sitemap import parse_sitemap
from sitekeeper.probes.content.snapshot import Snapshot, similarity, words_of
from sitekeeper.probes.content.spam_words import spam_word

HOSTILE = pytest.mark.timeout(20)
SITE = "shop.test"
URL = "https://www.shop.test/"
PROSE = " ".join(
    f"Our bakery in the old town bakes bread number {n} every morning with flour from the mill."
    for n in range(12)
)


def page(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def snap(body: str, head: str = "") -> tuple[Snapshot, PageFacts]:
    facts = read_page(page(body, head), URL)
    return Snapshot.of(facts, SITE), facts


@pytest.mark.parametrize(
    ("style", "hidden"),
    [
        ("display:none", True),
        ("DISPLAY : None !important", True),
        ("visibility: hidden", True),
        ("height:0;overflow:hidden", True),
        ("font-size:0px", True),
        ("position:absolute;left:-9999px", True),
        ("text-indent:-5000em", True),
        ("opacity:0", True),
        ("display:block", False),
        ("height:0.5em", False),
        ("left:-10px", False),
        ("opacity:0.5", False),
        ("width:100px", False),
    ],
)
def test_inline_styles_that_hide(style: str, hidden: bool) -> None:
    assert hides(style) is hidden


def test_hidden_links_by_style_attribute_class_and_id() -> None:
    head = (
        "<style>/* theme */ .seo-x{display:none} @media screen { #pp { position:absolute;"
        "left:-8000px } } .screen-reader-text:not(:focus){clip:rect(1px,1px,1px,1px);"
        "height:1px;width:1px} .menu a{color:red}</style>"
    )
    body = (
        '<div style="display:none"><a href="https://cheap-pills.test/">pills</a></div>'
        '<p class="seo-x foo"><span><a href="http://casino.test/">casino</a></span></p>'
        '<div id="pp"><a href="https://loans.test/">loans</a></div>'
        '<a hidden href="https://hidden-attr.test/">x</a>'
        '<a class="screen-reader-text" href="https://www.shop.test/#main">skip</a>'
        '<a class="screen-reader-text" href="https://partner.test/">partner</a>'
        '<nav class="menu"><a href="https://facebook.com/shop">Facebook</a></nav>'
        '<a href="/about">about</a>'
    )
    facts = read_page(page(body, head), URL)
    issues = compare.hidden_links(URL, facts, SITE)
    assert [(i.type, i.item, i.severity) for i in issues] == [
        (HIDDEN_LINK, host, Severity.HIGH)
        for host in ("casino.test", "cheap-pills.test", "hidden-attr.test", "loans.test")
    ]
    assert "'casino'" in issues[0].evidence


def test_new_outbound_domains_scripts_and_frames_against_the_baseline() -> None:
    before_body = (
        f"<p>{PROSE}</p><a href='https://facebook.com/shop'>fb</a>"
        "<script src='/wp-includes/js/jquery.js?ver=1'></script>"
        "<script src='https://cdn.partner.test/a.js?v=1'></script>"
        "<iframe src='https://www.youtube.com/embed/x'></iframe>"
    )
    before, _ = snap(before_body)
    # The same page with new cache busters: nothing new.
    same, facts = snap(before_body.replace("ver=1", "ver=2").replace("v=1", "v=9"))
    assert compare.against_baseline(URL, facts, same, before, SITE) == []
    after_body = (
        before_body
        + "<a href='https://viagra-shop.test/'>cheap</a><a href='https://news.test/'>news</a>"
        + "<script src='https://evil.test/loader.js'></script>"
        + "<iframe src='https://ads.test/frame'></iframe>"
    )
    after, facts = snap(after_body)
    found = {
        (i.type, i.item): i.severity
        for i in compare.against_baseline(URL, facts, after, before, SITE)
    }
    assert found == {
        (SPAM_LINK, "news.test"): Severity.MEDIUM,
        (SPAM_LINK, "viagra-shop.test"): Severity.HIGH,
        (NEW_SCRIPT, "https://evil.test/loader.js"): Severity.HIGH,
        (IFRAME, "https://ads.test/frame"): Severity.MEDIUM,
    }
    # No baseline (the first run): no change is reported.
    assert compare.against_baseline(URL, facts, after, None, SITE) == []


def test_a_large_text_change_is_defacement_a_small_one_is_not() -> None:
    rules = compare.Rules(change_percent=60)
    before, _ = snap(f"<p>{PROSE}</p><p>Posted 3 hours ago.</p>")
    edited, _ = snap(f"<p>{PROSE} A new sentence about rye.</p><p>Posted 5 hours ago.</p>")
    assert compare.defaced(URL, edited, before, rules) is None
    hacked, _ = snap("<h1>Hacked by someone</h1>" + "<p>we own this site now, greetings</p>" * 5)
    issue = compare.defaced(URL, hacked, before, rules)
    assert issue is not None and issue.type == DEFACEMENT and issue.severity == Severity.HIGH
    assert compare.defaced(URL, hacked, before, compare.Rules(change_percent=100)) is None


def test_forbidden_words_as_words_not_inside_others() -> None:
    rules = compare.Rules(forbidden_words=["Casino", "acme rival"])
    facts = read_page(page("<p>Visit the CASINO tonight. ACME Rival sells too.</p>"), URL)
    assert [i.item for i in compare.forbidden_words(URL, facts, rules)] == ["casino", "acme rival"]
    clean = read_page(page("<p>The casinos of Monaco; acme rivalry.</p>"), URL)
    assert compare.forbidden_words(URL, clean, rules) == []
    assert compare.forbidden_words(URL, facts, compare.Rules())[:1] == []
    [issue] = compare.forbidden_words(URL, facts, compare.Rules(forbidden_words=["casino"]))
    assert issue.type == FORBIDDEN_WORD


def test_cloaking_for_a_crawler_and_a_phone() -> None:
    visitor, _ = snap(f"<p>{PROSE}</p><a href='https://facebook.com/x'>fb</a>")
    nonce, _ = snap(f"<p>{PROSE}</p><a href='https://facebook.com/x'>fb</a><p>nonce 12345</p>")
    mobile, _ = snap("<p>Bakery. Bread every morning.</p><a href='https://facebook.com/x'>fb</a>")
    pharma, _ = snap(
        "<h1>Buy cheap viagra online</h1>" + "<p>best pharmacy prices, no prescription</p>" * 8
    )
    spammy, _ = snap(f"<p>{PROSE}</p><a href='https://pills.test/'>pills</a>")
    me = Variant("visitor", visitor)
    known = set(visitor.links)
    assert cloaked(URL, me, Variant(CRAWLER, nonce), known) is None
    assert cloaked(URL, me, Variant(PHONE, mobile), known) is None  # a mobile theme
    for other in (
        Variant(CRAWLER, pharma),
        Variant(CRAWLER, spammy),
        Variant(PHONE, spammy),
        Variant(PHONE, offsite="pills.test"),
    ):
        issue = cloaked(URL, me, other, known)
        assert issue is not None and issue.type == CLOAKING and issue.severity == Severity.HIGH
        assert issue.item == f"{URL} ({other.name})"
    # A site that sends everyone elsewhere does not cloak.
    moved = Variant("visitor", offsite="new.test")
    assert cloaked(URL, moved, Variant(PHONE, offsite="new.test"), known) is None


def test_sitemaps_and_spam_urls() -> None:
    urlset = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://shop.test/a</loc></url><url><loc> https://shop.test/b </loc></url>"
        b"</urlset>"
    )
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
        b"<loc>https://shop.test/s1.xml</loc></sitemap></sitemapindex>"
    )
    parsed = parse_sitemap(urlset)
    assert parsed is not None and parsed.urls == ["https://shop.test/a", "https://shop.test/b"]
    parsed = parse_sitemap(index)
    assert parsed is not None and parsed.children == ["https://shop.test/s1.xml"]
    assert parse_sitemap(b"<html><body>Not found</body></html>") is None
    assert spam_word("https://shop.test/cheap-viagra-online/") == "viagra"
    assert spam_word("https://shop.test/%E3%83%96%E3%83%A9%E3%83%B3%E3%83%89/") is not None
    assert spam_word("https://shop.test/2026/12/our-new-rye-bread/") is None


@HOSTILE
def test_entity_bombs_in_a_sitemap_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<urlset><url><loc>&c;</loc></url></urlset>"
    )
    assert parse_sitemap(bomb) is None
    deep = parse_sitemap(b"<urlset>" + b"<url>" * 200_000 + b"<loc>https://x.test/</loc>")
    assert deep is None or deep.urls == []  # unclosed: refused or nothing at the top


JUNK = {
    "unclosed div": "<div>" * 200_000,
    "open a": "<a " * 330_000,
    "b i nesting": "<b><i>" * 100_000,
    "formatting soup": "<p><font><b><i><a>" * 50_000,
    "nested tables": "<table><tr><td>" * 70_000,
    "long hiding style": '<a href="http://x.test/" style="' + "display:none;" * 70_000 + '">',
    "open css comments": "<style>" + "/*" * 150_000 + "</style>",
    "open css blocks": "<style>" + ".a{" * 100_000 + "</style>",
    "long selector": "<style>" + "a,b,.c " * 100_000 + "{display:none}</style>",
    "open comments": "<!--" * 250_000,
}


@HOSTILE
@pytest.mark.parametrize("junk", list(JUNK.values()), ids=list(JUNK))
def test_hostile_markup_is_read_in_bounded_time(junk: str) -> None:
    facts = read_page(junk.encode(), URL)
    Snapshot.of(facts, SITE)
    compare.hidden_links(URL, facts, SITE)


def test_markup_too_deep_to_read_is_reported_not_taken_for_clean() -> None:
    deep = read_page(page("<div>" * 400 + '<a href="https://spam.test/">x</a>'), URL)
    assert deep.unreadable is not None
    normal = read_page(page("<div>" * 40 + '<a href="https://ok.test/">x</a>'), URL)
    assert normal.unreadable is None and [link.host for link in normal.links] == ["ok.test"]


@HOSTILE
def test_hostile_css_and_spam_patterns_are_linear() -> None:
    hidden_selectors("{" * 300_000)
    hidden_selectors(".x{" + "display:none;" * 30_000 + "}")
    assert spam_word("https://x.test/" + "a" * 10_000_000) is None
    words_of("word " * 200_000)


def test_similarity_is_an_estimate_of_shared_text() -> None:
    one, _ = snap(f"<p>{PROSE}</p>")
    assert similarity(one.sample, one.sample) == 1.0
    other, _ = snap("<p>" + " ".join(f"completely different text {n} here" for n in range(40)))
    assert similarity(one.sample, other.sample) < 0.1
    assert Snapshot.from_json(one.to_json()) == one
    assert Snapshot.from_json({"sample": "junk", "links": [1, 2]}).links == ["1", "2"]
