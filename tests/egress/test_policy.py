"""The egress policy's decisions, address by address (pure: no network)."""

from __future__ import annotations

import pytest

from sitekeeper.config import load_settings
from sitekeeper.egress.policy import EgressPolicy, outbound_policy, parse_rules, site_policy
from sitekeeper.errors import ConfigError

PUBLIC_ONLY = EgressPolicy.public_only()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.8.7", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: connects to 127.0.0.1
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),  # unique local (ULA)
        ("169.254.10.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("192.0.2.10", "reserved (not publicly routable)"),
        ("240.0.0.1", "reserved (not publicly routable)"),
    ],
)
def test_non_public_addresses_are_refused_by_name(address: str, kind: str) -> None:
    reason = PUBLIC_ONLY.refusal(address)
    assert reason is not None
    assert reason.startswith("refused by the egress policy: ")
    assert reason.endswith(f" is {kind}")


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2a00:1450:4001::1"])
def test_public_addresses_pass(address: str) -> None:
    assert PUBLIC_ONLY.refusal(address) is None


def test_an_allowed_network_is_the_admins_exception() -> None:
    policy = EgressPolicy.public_only(["10.20.0.0/16", "loopback"])
    assert policy.refusal("10.20.3.4") is None
    assert policy.refusal("127.0.0.1") is None and policy.refusal("::1") is None
    assert policy.refusal("10.21.0.1") is not None
    assert policy.refusal("169.254.169.254") is not None


def test_allowing_private_does_not_open_the_metadata_address_inside_it() -> None:
    policy = EgressPolicy.public_only(["private"])
    assert policy.refusal("fd12::1") is None
    assert policy.refusal("fd00:ec2::254") is not None


def test_denying_link_local_denies_the_metadata_address_inside_it() -> None:
    policy = EgressPolicy(parse_rules(["link-local"]))
    assert policy.refusal("169.254.169.254") is not None
    assert policy.refusal("10.0.0.1") is None


def test_a_name_is_never_taken_for_an_address() -> None:
    assert PUBLIC_ONLY.refusal("localhost") is not None


def test_settings_defaults_sites_anywhere_but_metadata_alerts_public_only() -> None:
    settings = load_settings()
    sites, outbound = site_policy(settings), outbound_policy(settings)
    assert sites.refusal("127.0.0.1") is None and sites.refusal("10.0.0.1") is None
    assert "metadata" in (sites.refusal("169.254.169.254") or "")
    assert outbound.refusal("127.0.0.1") is not None
    assert "SITEKEEPER_EGRESS_ALLOW" in (outbound.refusal("10.0.0.1") or "")


def test_site_deny_and_allow_settings() -> None:
    settings = load_settings(site_egress_deny="non-public", site_egress_allow="10.8.0.0/16")
    sites = site_policy(settings)
    assert sites.refusal("10.8.1.1") is None
    assert "is private" in (sites.refusal("10.9.1.1") or "")
    custom = site_policy(load_settings(site_egress_deny="203.0.113.0/24"))
    assert "is in 203.0.113.0/24" in (custom.refusal("203.0.113.9") or "")


@pytest.mark.parametrize(
    "setting", ["egress_allow", "site_egress_deny", "site_egress_allow", "trusted_proxies"]
)
def test_a_bad_entry_stops_start_up_naming_the_setting(setting: str) -> None:
    with pytest.raises(ConfigError, match=f"SITEKEEPER_{setting.upper()}"):
        load_settings(**{setting: "10.0.0.0/8, intranet"})
