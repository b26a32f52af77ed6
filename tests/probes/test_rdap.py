"""The RDAP client against a registry on loopback: the domain object read as RFC 9083 has
it, the registry found through the bootstrap file (cached, refreshed, kept when the refresh
fails) or the override map, and every bad answer a clear error, not an exception."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from aiohttp import web

from sitekeeper.config import Settings
from sitekeeper.egress.policy import EgressPolicy
from sitekeeper.probes.rdap import RdapClient, RdapError, RdapSettings, parse_domain
from sitekeeper.probes.rdap_bootstrap import Bootstrap, BootstrapError
from sitekeeper.probes.registrable import registrable_domain, site_host
from tests.probes.domain_servers import (
    Registry,
    garbage,
    huge,
    in_days,
    rdap_domain,
    registry_server,
    stall,
)


def _settings(registry: Registry, tmp_path: Path, **changes: object) -> RdapSettings:
    assert registry.site is not None
    values: dict[str, object] = {
        "bootstrap_url": registry.site.url("/dns.json"),
        "cache_path": tmp_path / "cache" / "rdap-dns.json",
        "timeout": 5.0,
        "egress": EgressPolicy.public_only(["loopback"]),
    }
    values.update(changes)
    return RdapSettings(**values)  # type: ignore[arg-type]


async def test_a_domain_object_is_read_through_the_bootstrap(tmp_path: Path) -> None:
    expires = in_days(100)
    registry = Registry({"example.test": rdap_domain("example.test", expires=expires)})
    async with registry_server(registry), RdapClient(_settings(registry, tmp_path)) as rdap:
        reg = await rdap.lookup("example.test")
        missing = await rdap.lookup("unknown.test")
        nowhere = await rdap.lookup("example.nosuchtld")
    assert reg.error is None
    assert reg.expires is not None and abs((reg.expires - expires).total_seconds()) < 1
    assert reg.registrar == "Example Registrar, Inc."
    assert reg.registered is not None and reg.registered.year == 1990
    assert reg.statuses == ("client transfer prohibited", "active")
    assert reg.dnssec is True
    assert reg.nameservers == ("ns1.example.test", "ns2.example.test")
    assert reg.source is not None and reg.source.endswith("/rdap/domain/example.test")
    assert missing.error == "the registry does not know this domain (404)"
    assert nowhere.error == "no RDAP server is registered for .nosuchtld"
    assert registry.bootstraps == 1  # read once for the run


async def test_the_bootstrap_is_cached_on_disk_and_kept_when_a_refresh_fails(
    tmp_path: Path,
) -> None:
    registry = Registry({"example.test": rdap_domain("example.test", expires=in_days(100))})
    async with registry_server(registry):
        settings = _settings(registry, tmp_path)
        async with RdapClient(settings) as rdap:
            assert (await rdap.lookup("example.test")).error is None
        async with RdapClient(settings) as rdap:  # a later run: the cached copy is fresh
            assert (await rdap.lookup("example.test")).error is None
        assert registry.bootstraps == 1
        assert settings.cache_path.exists()

        # A day later the copy is stale and IANA's server is down: the old copy still serves.
        old = time.time() - 2 * 86400
        os.utime(settings.cache_path, (old, old))
        broken = _settings(registry, tmp_path, bootstrap_url=registry.site.url("/nothing"))
        async with RdapClient(broken) as rdap:
            assert (await rdap.lookup("example.test")).error is None
            assert any("not refreshed" in n for n in rdap.notes)


async def test_no_bootstrap_at_all_is_a_clear_error(tmp_path: Path) -> None:
    registry = Registry()
    async with registry_server(registry):
        settings = _settings(registry, tmp_path, bootstrap_url=registry.site.url("/nothing"))
        async with RdapClient(settings) as rdap:
            reg = await rdap.lookup("example.test")
    assert reg.error == "cannot read the RDAP bootstrap file: HTTP 404"


async def test_the_override_map_is_asked_before_the_bootstrap(tmp_path: Path) -> None:
    registry = Registry({"shop.intern": rdap_domain("shop.intern", expires=in_days(9))})
    async with registry_server(registry):
        assert registry.site is not None
        overrides = {"intern": registry.site.url("/rdap")}  # without the slash: added
        settings = _settings(registry, tmp_path, overrides=overrides)
        async with RdapClient(settings) as rdap:
            reg = await rdap.lookup("shop.intern")
    assert reg.error is None and reg.registrar == "Example Registrar, Inc."
    assert registry.bootstraps == 0


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (garbage, "the answer is not JSON"),
        (huge, "the answer is over the 100000-byte limit"),
        (stall, "no answer within 0.5 s"),
    ],
)
async def test_bad_registries_are_clear_errors(
    tmp_path: Path, handler: object, expected: str
) -> None:
    registry = Registry(special={"example.test": handler})  # type: ignore[dict-item]
    async with registry_server(registry):
        settings = _settings(registry, tmp_path, max_bytes=100_000, timeout=0.5)
        async with RdapClient(settings) as rdap:
            reg = await rdap.lookup("example.test")
    assert reg.error == expected
    assert reg.expires is None


async def test_loopback_is_refused_unless_allowed(tmp_path: Path) -> None:
    registry = Registry({"example.test": rdap_domain("example.test", expires=in_days(9))})
    async with registry_server(registry):
        settings = _settings(registry, tmp_path, egress=EgressPolicy.public_only())
        async with RdapClient(settings) as rdap:
            reg = await rdap.lookup("example.test")
    assert reg.error is not None and "egress policy" in reg.error


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[]", "the answer is not an RDAP domain object"),
        (b'{"objectClassName": "entity"}', "the answer is not an RDAP domain object"),
        (b"\xff\xfe", "the answer is not JSON"),
    ],
)
def test_what_is_no_domain_object_is_refused(body: bytes, error: str) -> None:
    with pytest.raises(RdapError, match=error):
        parse_domain("example.test", body)


def test_fields_of_the_wrong_type_read_as_missing() -> None:
    body = b'{"objectClassName": "domain", "events": "x", "status": [1, null], "entities": {}}'
    reg = parse_domain("example.test", body)
    assert reg.expires is None and reg.statuses == () and reg.registrar is None


def test_events_with_odd_dates_are_skipped() -> None:
    document = rdap_domain("example.test", expires=in_days(5))
    document["events"].insert(0, {"eventAction": "expiration", "eventDate": "tomorrow"})
    document["secureDNS"] = {"delegationSigned": "yes"}
    reg = parse_domain("example.test", json.dumps(document).encode())
    assert reg.expires is not None and reg.dnssec is None


def test_bootstrap_prefers_https_and_the_longest_suffix() -> None:
    raw = (
        b'{"services": [[["uk"], ["http://a/", "https://uk.example/"]],'
        b' [["co.uk"], ["https://co-uk.example/rdap"]], "junk", [[1], ["https://x/"]]]}'
    )
    bootstrap = Bootstrap.parse(raw)
    assert bootstrap.base_for("shop.co.uk") == "https://co-uk.example/rdap/"
    assert bootstrap.base_for("shop.uk") == "https://uk.example/"
    assert bootstrap.base_for("shop.de") is None


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.example.co.uk/shop", "example.co.uk"),
        ("https://Bäckerei-Müller.de/", "bäckerei-müller.de".encode("idna").decode()),
        ("https://blog.example.github.io/", "github.io"),  # ICANN suffixes only: a registry
        ("https://shop.example.test./", "example.test"),
        ("http://127.0.0.1:8080/", None),
        ("http://[::1]/", None),
        ("http://localhost/", None),
    ],
)
def test_the_registrable_domain_of_a_site(url: str, domain: str | None) -> None:
    host = site_host(url)
    assert host is not None
    assert registrable_domain(host) == domain


async def test_settings_read_the_override_map(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, rdap_servers="intern=https://rdap.intern/,Test=http://127.0.0.1:1/"
    )
    rdap = RdapSettings.from_settings(settings)
    assert rdap.overrides == {"intern": "https://rdap.intern/", "test": "http://127.0.0.1:1/"}
    assert rdap.cache_path == tmp_path / "cache" / "rdap-dns.json"
    with pytest.raises(ValueError, match="not an http"):
        Settings(home=tmp_path, rdap_servers="intern=ftp://x/")


async def test_a_domain_is_asked_once_per_run_and_a_rate_limit_is_an_error(
    tmp_path: Path,
) -> None:
    async def slow_down(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "60"})

    registry = Registry(
        {"example.test": rdap_domain("example.test", expires=in_days(100))},
        special={"busy.test": slow_down},
    )
    async with registry_server(registry), RdapClient(_settings(registry, tmp_path)) as rdap:
        first, second = await asyncio.gather(
            rdap.lookup("example.test"), rdap.lookup("example.test")
        )
        busy = await rdap.lookup("busy.test")
    assert first == second and first.error is None
    assert registry.asked == ["example.test", "busy.test"]
    assert busy.error is not None and "429" in busy.error


def test_a_bootstrap_file_nested_too_deep_is_refused_clearly() -> None:
    """A bootstrap answer of 30,000 '[' must be "not JSON", not a RecursionError that ends
    the domain watch for every site."""
    with pytest.raises(BootstrapError, match="not JSON"):
        Bootstrap.parse(b"[" * 30_000)
