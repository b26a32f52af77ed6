"""The check runner's probes: one per check kind, each site's options checked by its kind."""

from __future__ import annotations

from sitekeeper.domain.checks import ErrorCategory, split_check, web_check_options
from sitekeeper.probes.registry import ProbeSet
from tests.probes.conftest import serve
from tests.probes.test_http import page_app


def test_a_site_without_a_kind_is_checked_over_http() -> None:
    assert split_check({}) == ("http", {})
    assert split_check({"probe": "tcp-echo", "port": 7}) == ("tcp-echo", {"port": 7})


async def test_options_are_validated_by_the_sites_kind_and_a_bad_one_is_a_failed_check() -> None:
    async with serve(page_app()) as site, ProbeSet(timeout=5) as probes:
        good = await probes.check("http", site.url("/"), {"keyword": "Welcome"})
        bad = await probes.check("http", site.url("/"), {"method": "PUT"})
        assert probes.probe("http") is probes.probe("http")  # one probe per kind
    assert good.up, good.detail
    assert not bad.up
    assert bad.error is ErrorCategory.INVALID_RESPONSE
    assert bad.detail is not None and "invalid http check option method" in bad.detail


def test_fingerprints_trust_a_site_as_its_http_check_does_and_others_by_default() -> None:
    http = web_check_options({"verify_tls": False, "ca_bundle": "/etc/agency-ca.pem"})
    assert (http.verify_tls, http.ca_bundle) == (False, "/etc/agency-ca.pem")
    other = web_check_options({"probe": "tcp-echo", "port": 7})
    assert (other.verify_tls, other.ca_bundle) == (True, None)
