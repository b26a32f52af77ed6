"""HttpProbe against real loopback servers: status, content, size, redirects, methods."""

from __future__ import annotations

import gzip
import tracemalloc
from datetime import UTC, datetime

import pytest
from aiohttp import web

from sitekeeper.domain.checks import CheckOptions, ErrorCategory
from sitekeeper.probes.http import HttpProbe
from sitekeeper.probes.registry import PROBES
from tests.probes.conftest import serve

SEEN = web.AppKey("seen", list[str])


def page_app(body: bytes = b"<h1>Welcome to Shop</h1>", status: int = 200) -> web.Application:
    """A site that answers every path with ``body`` and records what it was asked."""
    app = web.Application()
    seen: list[str] = []
    app[SEEN] = seen

    async def handler(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        return web.Response(body=body, status=status, content_type="text/html")

    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def test_registered_as_http_probe() -> None:
    assert PROBES.get("http") is HttpProbe
    assert HttpProbe.kind == "http"


async def test_up_site_fills_the_result() -> None:
    async with serve(page_app()) as site, HttpProbe() as probe:
        before = datetime.now(UTC)
        result = await probe.check(site.url("/home"), CheckOptions(keyword="Welcome"))
    assert result.up, result
    assert result.error is None
    assert result.detail is None
    assert result.status == 200
    assert result.tls is None
    assert result.final_url == site.url("/home")
    assert result.ip == "127.0.0.1"
    assert isinstance(result.response_ms, int)
    assert 0 <= result.response_ms < 5000
    assert result.checked_at.tzinfo is not None
    assert before <= result.checked_at <= datetime.now(UTC)


async def test_status_not_accepted_is_http_status() -> None:
    async with serve(page_app(status=503)) as site, HttpProbe() as probe:
        down = await probe.check(site.url())
        accepted = await probe.check(site.url(), CheckOptions(accept_status=["200", "503"]))
    assert not down.up
    assert down.error is ErrorCategory.HTTP_STATUS
    assert down.status == 503
    assert down.detail == "status 503 not accepted"
    assert accepted.up


async def test_missing_keyword() -> None:
    async with serve(page_app()) as site, HttpProbe() as probe:
        result = await probe.check(site.url(), CheckOptions(keyword="Checkout"))
    assert result.error is ErrorCategory.KEYWORD_MISSING
    assert result.status == 200
    assert result.detail == "keyword 'Checkout' not found"


async def test_keyword_in_the_page_charset() -> None:
    body = "<p>Café ouvert</p>".encode("iso-8859-1")
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="iso-8859-1")

    app.router.add_get("/", handler)
    async with serve(app) as site, HttpProbe() as probe:
        found = await probe.check(site.url(), CheckOptions(keyword="Café"))
        missing = await probe.check(site.url(), CheckOptions(keyword="Thé"))
    assert found.up, found
    assert missing.error is ErrorCategory.KEYWORD_MISSING


async def test_forbidden_word_any_case() -> None:
    async with serve(page_app(b"<p>Best CASINO bonus</p>")) as site, HttpProbe() as probe:
        hacked = await probe.check(site.url(), CheckOptions(forbidden=["viagra", "casino"]))
        clean = await probe.check(site.url(), CheckOptions(forbidden=["viagra"]))
    assert hacked.error is ErrorCategory.FORBIDDEN_CONTENT
    assert hacked.detail == "forbidden word 'casino' found"
    assert clean.up


@pytest.mark.parametrize("method", ["HEAD", "POST"])
async def test_method_from_options(method: str) -> None:
    app = page_app()
    async with serve(app) as site, HttpProbe() as probe:
        result = await probe.check(site.url("/x"), CheckOptions(method=method))
    assert result.up, result
    assert app[SEEN] == [f"{method} /x"]


async def test_head_cannot_satisfy_a_keyword() -> None:
    async with serve(page_app()) as site, HttpProbe() as probe:
        result = await probe.check(site.url(), CheckOptions(method="HEAD", keyword="Welcome"))
    assert result.error is ErrorCategory.KEYWORD_MISSING


async def test_body_over_the_cap() -> None:
    async with serve(page_app(b"x" * 4096)) as site:
        async with HttpProbe(max_body_bytes=4096) as probe:
            at_cap = await probe.check(site.url())
        async with HttpProbe(max_body_bytes=4095) as probe:
            over = await probe.check(site.url())
    assert at_cap.up, at_cap
    assert over.error is ErrorCategory.BODY_TOO_LARGE
    assert over.detail == "body larger than 4095 bytes"


async def test_gzip_bomb_is_capped_on_decompressed_bytes() -> None:
    """50 MB of zeros is ~50 kB gzip'd; the probe must stop at the cap, not inflate it all."""
    bomb = gzip.compress(bytes(50 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    app.router.add_get("/", handler)
    async with serve(app) as site, HttpProbe(max_body_bytes=256 * 1024) as probe:
        tracemalloc.start()
        try:
            result = await probe.check(site.url())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.error is ErrorCategory.BODY_TOO_LARGE, result
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while reading a capped body"


async def test_gzip_page_under_the_cap_is_searched_decompressed() -> None:
    page = b"<p>" + b"filler " * 1000 + b"Welcome</p>"
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(page), headers={"Content-Encoding": "gzip"})

    app.router.add_get("/", handler)
    async with serve(app) as site, HttpProbe() as probe:
        result = await probe.check(site.url(), CheckOptions(keyword="Welcome"))
    assert result.up, result


def redirect_app() -> web.Application:
    """/a -> /b -> /final; /loop1 <-> /loop2; /post -> 303 /final."""
    app = web.Application()
    seen: list[str] = []
    app[SEEN] = seen
    hops = {"/a": "/b", "/b": "/final", "/loop1": "/loop2", "/loop2": "/loop1"}

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.path}")
        if request.path in hops:
            raise web.HTTPFound(hops[request.path])
        if request.path == "/post":
            raise web.HTTPSeeOther("/final")
        return web.Response(text="arrived")

    app.router.add_route("*", "/{tail:.*}", handler)
    return app


async def test_redirects_are_followed() -> None:
    async with serve(redirect_app()) as site, HttpProbe() as probe:
        result = await probe.check(site.url("/a"), CheckOptions(keyword="arrived"))
    assert result.up, result
    assert result.final_url == site.url("/final")
    assert result.status == 200


async def test_redirect_loop_is_too_many_redirects() -> None:
    app = redirect_app()
    async with serve(app) as site, HttpProbe(max_redirects=5) as probe:
        result = await probe.check(site.url("/loop1"))
    assert result.error is ErrorCategory.TOO_MANY_REDIRECTS
    assert result.detail == "more than 5 redirects"
    assert result.status == 302
    assert len(app[SEEN]) == 6  # the first request and five redirects
    assert result.final_url == site.url("/loop2")


async def test_options_override_the_redirect_cap() -> None:
    async with serve(redirect_app()) as site, HttpProbe(max_redirects=5) as probe:
        one = await probe.check(site.url("/a"), CheckOptions(max_redirects=1))
        zero = await probe.check(site.url("/a"), CheckOptions(max_redirects=0))
    assert one.error is ErrorCategory.TOO_MANY_REDIRECTS
    # 0 means "do not follow": the redirect itself is judged (3xx accepted by default).
    assert zero.up, zero
    assert zero.status == 302
    assert zero.final_url == site.url("/a")


async def test_post_redirected_by_303_becomes_get() -> None:
    app = redirect_app()
    async with serve(app) as site, HttpProbe() as probe:
        result = await probe.check(site.url("/post"), CheckOptions(method="POST"))
    assert result.up, result
    assert app[SEEN] == ["POST /post", "GET /final"]


async def test_not_an_http_url_is_reported_not_raised() -> None:
    async with HttpProbe() as probe:
        result = await probe.check("ftp://127.0.0.1/file")
    assert result.error is ErrorCategory.INVALID_RESPONSE
    assert result.detail is not None
    assert "not an http(s) URL" in result.detail
