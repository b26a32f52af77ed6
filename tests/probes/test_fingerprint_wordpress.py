"""WordPress fingerprints: the real 6.1.9 sites, and a hardened copy narrowed by file hashes.

The vendor API is a loopback aiohttp server answering in api.wordpress.org's
exact formats, with checksums computed from the real files in /srv/sites/wp1
(for "6.1.9") and a decoy "6.1.8" in which one hashed file differs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sitekeeper.cms.wordpress import signals as wordpress_signals
from sitekeeper.cms.wordpress.hashes import learn_wordpress
from sitekeeper.intel.hashes import HashKnowledge, HashSources, Learner
from sitekeeper.probes.fingerprint import FingerprintOptions, FingerprintProbe, fingerprint
from tests.probes.conftest import Site, serve
from tests.realsites import real_wp_sites

__all__ = ["real_wp_sites"]

WP1 = Path("/srv/sites/wp1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<link href="/wp-includes/css/dist/block-library/style.min.css?ver=6.4.2">', "6.4.2"),
        ('"http:\\/\\/x\\/wp-includes\\/js\\/wp-emoji-release.min.js?ver=6.1.9"', "6.1.9"),
        ('<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.6.1">', None),  # a library
        ('<script src="/wp-content/plugins/x/a.js?ver=2.0.1">', None),  # a plugin
        ('<script src="/wp-includes/blocks/navigation/view.min.js?ver=c24330f6">', None),  # hash
        ('<script src="/wp-includes/js/dist/vendor/wp-polyfill.min.js?ver=3.15.0">', None),
    ],
)
def test_only_core_assets_count(text: str, expected: str | None) -> None:
    found = wordpress_signals.core_asset_version(text)
    assert (found[0] if found else None) == expected


def test_feed_and_opml_generators() -> None:
    cases = {
        "<generator>https://wordpress.org/?v=6.1.9</generator>": "RSS",
        '<generator uri="https://wordpress.org/" version="6.1.9">WordPress</generator>': "Atom",
        '<admin:generatorAgent rdf:resource="https://wordpress.org/?v=6.1.9" />': "RDF",
        '<!-- generator="WordPress/6.1.9" -->': "OPML",
    }
    for text, kind in cases.items():
        clues = wordpress_signals.read("u", 200, {}, text)
        assert [(c.version, kind in c.evidence[0]) for c in clues] == [("6.1.9", True)]
    assert wordpress_signals.read("u", 404, {}, next(iter(cases))) == []


# ---------------------------------------------------------------- the real sites


async def test_real_site_is_wordpress_619_in_one_request(
    real_wp_sites: list[dict[str, Any]],
) -> None:
    async with FingerprintProbe() as probe:
        result = await probe.fingerprint(real_wp_sites[0]["url"])
        assert probe.requests == 1
    assert (result.cms, result.version, result.error) == ("wordpress", "6.1.9", None)
    assert any("generator meta 'WordPress 6.1.9'" in e for e in result.evidence)
    assert any("?ver=6.1.9 on 2 core asset(s)" in e for e in result.evidence)


# ---------------------------------------------------------------- hardened copy


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _core_checksums() -> dict[str, str]:
    """What /core/checksums/1.0/ would list for this install: every core file's md5."""
    found: dict[str, str] = {}
    for top in ("wp-admin", "wp-includes"):
        for path in (WP1 / top).rglob("*"):
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(WP1))] = _md5(path)
    for path in WP1.glob("*.php"):
        if path.name != "wp-config.php":
            found[path.name] = _md5(path)
    return found


def _api(checksums: dict[str, dict[str, str]], seen: list[str]) -> web.Application:
    async def stable(request: web.Request) -> web.Response:
        seen.append(str(request.rel_url))
        body = {v: "outdated" for v in checksums} | {"6.1.9": "latest", "4.0.38": "insecure"}
        return web.json_response(body)

    async def sums(request: web.Request) -> web.Response:
        seen.append(str(request.rel_url))
        assert request.query["locale"] == "en_US"
        found = checksums.get(request.query["version"])
        return web.json_response({"checksums": found if found is not None else False})

    app = web.Application()
    app.router.add_get("/core/stable-check/1.0/", stable)
    app.router.add_get("/core/checksums/1.0/", sums)
    return app


def _harden(html: str) -> str:
    """What a security plugin does: no generator tag, no ?ver= anywhere."""
    html = re.sub(r"<meta name=\"generator\"[^>]*>", "", html)
    return re.sub(r"\?ver=[^\"'&\s]+", "", html)


@pytest.fixture
async def hardened(real_wp_sites: list[dict[str, Any]]) -> AsyncIterator[Site]:
    """A loopback copy of wp1's public face with the version hidden everywhere."""
    async with aiohttp.ClientSession() as session:
        async with session.get(real_wp_sites[0]["url"]) as resp:
            home = _harden(await resp.text())
        async with session.get(real_wp_sites[0]["url"] + "feed/") as resp:
            feed = re.sub(r"<generator>[^<]*</generator>", "", await resp.text())
    assert "6.1.9" not in home
    assert "wp-includes" in home

    async def page(request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path == "":
            return web.Response(text=home, content_type="text/html")
        if path == "feed/":
            return web.Response(text=feed, content_type="application/rss+xml")
        if path in wordpress_signals.HASH_FILES:
            return web.Response(body=(WP1 / path).read_bytes())
        return web.Response(status=404, text="<html>not found</html>")

    app = web.Application()
    app.router.add_get("/{path:.*}", page)
    async with serve(app) as site:
        yield site


@pytest.fixture
async def wordpress_api(
    real_wp_sites: list[dict[str, Any]],
) -> AsyncIterator[tuple[Site, list[str]]]:
    real = _core_checksums()
    decoy = dict(real)
    decoy["wp-includes/css/dist/block-library/style.min.css"] = hashlib.md5(b"6.1.8").hexdigest()
    seen: list[str] = []
    async with serve(_api({"6.1.9": real, "6.1.8": decoy}, seen)) as site:
        yield site, seen


async def _learn(api: Site, tmp_path: Path) -> HashKnowledge:
    knowledge = HashKnowledge.in_home(tmp_path)
    sources = HashSources(vendor={"wordpress_api_url": api.url("/")})
    async with Learner(knowledge, sources) as learner:
        learned = await learn_wordpress(learner, wordpress_signals.HASH_FILES)
    assert sorted(learned) == ["6.1.8", "6.1.9"]  # 4.0.38 answered "checksums": false
    return knowledge


async def test_hardened_site_is_pinned_by_hashes(
    hardened: Site, wordpress_api: tuple[Site, list[str]], tmp_path: Path
) -> None:
    knowledge = await _learn(wordpress_api[0], tmp_path)
    async with FingerprintProbe(hashes=knowledge) as probe:
        result = await probe.fingerprint(hardened.url("/"))
        requests = probe.requests
    assert (result.cms, result.version, result.error) == ("wordpress", "6.1.9", None)
    assert requests == 4  # home, feed, OPML, the one static file that differs
    assert any("style.min.css: md5" in e and "6.1.9" in e for e in result.evidence)


async def test_hardened_site_without_hash_knowledge_is_wordpress_of_unknown_version(
    hardened: Site,
) -> None:
    result = await fingerprint(hardened.url("/"))
    assert (result.cms, result.version, result.candidates) == ("wordpress", None, [])


async def test_learned_hashes_are_cached_and_not_fetched_again(
    wordpress_api: tuple[Site, list[str]], tmp_path: Path
) -> None:
    api, seen = wordpress_api
    await _learn(api, tmp_path)
    again = HashKnowledge.in_home(tmp_path)  # read back from the data directory
    assert again.versions("wordpress") == ["4.0.38", "6.1.8", "6.1.9"]
    assert again.files("wordpress", "4.0.38") == {}  # the vendor has no checksums for it
    assert again.files("wordpress", "6.1.9") == {
        p: _md5(WP1 / p) for p in wordpress_signals.HASH_FILES
    }
    seen.clear()
    again = HashKnowledge.in_home(tmp_path)
    async with Learner(again, HashSources(vendor={"wordpress_api_url": api.url("/")})) as learner:
        assert await learn_wordpress(learner, wordpress_signals.HASH_FILES) == []
    assert all("checksums" not in url for url in seen)


async def test_a_file_no_release_shipped_leaves_the_version_open(
    wordpress_api: tuple[Site, list[str]], tmp_path: Path
) -> None:
    knowledge = await _learn(wordpress_api[0], tmp_path)

    async def page(request: web.Request) -> web.Response:
        if request.path == "/":
            return web.Response(
                text='<link href="/wp-includes/css/x.css">', content_type="text/html"
            )
        return web.Response(text="/* edited by the site owner */")

    app = web.Application()
    app.router.add_get("/{path:.*}", page)
    async with serve(app) as site:
        result = await fingerprint(site.url("/"), hashes=knowledge)
    assert (result.cms, result.version, result.candidates) == ("wordpress", None, [])
    assert any("matches no candidate release" in e for e in result.evidence)


async def test_request_budget_is_respected(hardened: Site) -> None:
    async with FingerprintProbe() as probe:
        result = await probe.fingerprint(hardened.url("/"), FingerprintOptions(max_requests=1))
        assert probe.requests == 1
    assert result.cms == "wordpress"
    assert any("budget of 1 requests" in e for e in result.evidence)
