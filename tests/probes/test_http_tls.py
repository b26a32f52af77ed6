"""HttpProbe and certificates: valid, expired, self-signed, wrong host, unknown CA."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from sitekeeper.domain.checks import CheckOptions, ErrorCategory
from sitekeeper.probes.http import HttpProbe
from tests.probes.conftest import Site, StaticResolver, raw_server, serve, server_context

NAME = "shop.test"


def hello_app() -> web.Application:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", handler)
    return app


@pytest.fixture
def probe() -> HttpProbe:
    return HttpProbe(timeout=5, resolver=StaticResolver({NAME: "127.0.0.1"}))


async def tls_site(context: ssl.SSLContext) -> AsyncIterator[Site]:
    async with serve(hello_app(), ssl_context=context) as site:
        yield site


@pytest.fixture
async def good_site(ca: trustme.CA) -> AsyncIterator[Site]:
    async for site in tls_site(server_context(ca.issue_cert(NAME))):
        yield site


async def test_valid_certificate_fills_tls_info(
    probe: HttpProbe, good_site: Site, ca_file: Path
) -> None:
    async with probe:
        result = await probe.check(good_site.url(name=NAME), CheckOptions(ca_bundle=str(ca_file)))
    assert result.up, result
    tls = result.tls
    assert tls is not None
    assert tls.valid
    assert tls.error is None
    assert tls.expires is not None
    assert tls.expires > datetime.now(UTC)
    assert tls.days_left == (tls.expires - result.checked_at).days
    assert tls.issuer is not None
    assert "trustme" in tls.issuer
    assert tls.subject is not None
    # The normal path makes exactly one TLS connection: no second handshake.
    assert good_site.connections == 1


async def test_system_store_honours_ssl_cert_file(
    good_site: Site, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = StaticResolver({NAME: "127.0.0.1"})
    async with HttpProbe(resolver=resolver) as without:
        untrusted = await without.check(good_site.url(name=NAME))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with HttpProbe(resolver=resolver) as trusting:
        trusted = await trusting.check(good_site.url(name=NAME))
    assert untrusted.error is ErrorCategory.TLS
    assert trusted.up, trusted


async def test_expired_certificate(probe: HttpProbe, ca: trustme.CA, ca_file: Path) -> None:
    now = datetime.now(UTC)
    cert = ca.issue_cert(
        NAME, not_before=now - timedelta(days=90), not_after=now - timedelta(days=3)
    )
    async for site in tls_site(server_context(cert)):
        async with probe:
            result = await probe.check(site.url(name=NAME), CheckOptions(ca_bundle=str(ca_file)))
        # One failed verifying handshake, then one to read what was presented.
        assert site.connections == 2
    assert result.error is ErrorCategory.TLS
    assert result.detail == "certificate has expired"
    assert result.status is None
    tls = result.tls
    assert tls is not None
    assert not tls.valid
    assert tls.error == "certificate has expired"
    assert tls.expires is not None
    assert tls.expires < now
    assert tls.days_left is not None
    assert tls.days_left < 0
    assert tls.issuer is not None
    assert "trustme" in tls.issuer


async def test_wrong_host(probe: HttpProbe, ca: trustme.CA, ca_file: Path) -> None:
    async for site in tls_site(server_context(ca.issue_cert("other.test"))):
        async with probe:
            result = await probe.check(site.url(name=NAME), CheckOptions(ca_bundle=str(ca_file)))
    assert result.error is ErrorCategory.TLS
    assert result.detail is not None
    assert "Hostname mismatch" in result.detail
    assert result.tls is not None
    assert not result.tls.valid
    assert result.tls.subject is not None
    assert result.tls.expires is not None


async def test_unknown_ca(probe: HttpProbe, ca_file: Path) -> None:
    stranger = trustme.CA()
    async for site in tls_site(server_context(stranger.issue_cert(NAME))):
        async with probe:
            result = await probe.check(site.url(name=NAME), CheckOptions(ca_bundle=str(ca_file)))
    assert result.error is ErrorCategory.TLS
    assert result.detail == "unable to get local issuer certificate"
    assert result.tls is not None
    assert result.tls.issuer is not None


async def test_self_signed(probe: HttpProbe, ca_file: Path, tmp_path: Path) -> None:
    # A CA certificate presented as the leaf is a self-signed certificate.
    own = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    own.cert_pem.write_to_path(str(tmp_path / "c.pem"))
    own.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    context.load_cert_chain(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    async for site in tls_site(context):
        async with probe:
            result = await probe.check(site.url(name=NAME), CheckOptions(ca_bundle=str(ca_file)))
            unchecked = await probe.check(site.url(name=NAME), CheckOptions(verify_tls=False))
    assert result.error is ErrorCategory.TLS
    assert result.detail == "self-signed certificate"
    assert result.tls is not None
    assert result.tls.issuer == result.tls.subject
    # verify_tls=False: up, and what was presented is still reported, marked unverified.
    assert unchecked.up, unchecked
    assert unchecked.tls is not None
    assert not unchecked.tls.valid
    assert unchecked.tls.error == "not verified (verify_tls is off)"
    assert unchecked.tls.expires is not None


async def test_http_url_on_a_tls_port_has_no_tls_info(probe: HttpProbe, good_site: Site) -> None:
    async with probe:
        result = await probe.check(f"http://127.0.0.1:{good_site.port}/")
    # An http:// URL has no TLS; the server's TLS-only port makes this unreadable.
    assert result.tls is None
    assert result.error in (ErrorCategory.RESET, ErrorCategory.INVALID_RESPONSE)


async def test_https_url_on_a_plain_port_is_a_failed_handshake(probe: HttpProbe) -> None:
    async with serve(hello_app()) as plain, probe:
        result = await probe.check(f"https://127.0.0.1:{plain.port}/")
    assert result.error is ErrorCategory.TLS, result
    assert result.detail is not None
    assert result.detail.startswith("TLS handshake failed")
    assert result.tls is not None
    assert not result.tls.valid


async def test_unreadable_ca_bundle_is_reported(
    probe: HttpProbe, good_site: Site, tmp_path: Path
) -> None:
    async with probe:
        result = await probe.check(
            good_site.url(name=NAME), CheckOptions(ca_bundle=str(tmp_path / "missing.pem"))
        )
    assert result.error is ErrorCategory.TLS
    assert result.detail is not None
    assert result.detail.startswith("cannot load CA bundle")


async def test_redirect_from_http_to_https_reports_the_final_certificate(
    good_site: Site, ca_file: Path
) -> None:
    app = web.Application()
    final = good_site.url(name=NAME)

    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(final)

    app.router.add_get("/", handler)
    resolver = StaticResolver({NAME: "127.0.0.1"})
    async with serve(app) as plain, HttpProbe(resolver=resolver) as probe:
        result = await probe.check(plain.url(), CheckOptions(ca_bundle=str(ca_file)))
    assert result.up, result
    assert result.final_url == final
    assert result.tls is not None
    assert result.tls.valid
    assert result.tls.expires is not None


async def test_tls_handshake_that_never_comes_times_out(probe: HttpProbe) -> None:
    never = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await never.wait()  # accept TCP, never answer the ClientHello

    async with raw_server(mute) as site, probe:
        result = await probe.check(f"https://{NAME}:{site.port}/", CheckOptions(timeout=0.5))
    assert result.error is ErrorCategory.TIMEOUT, result
