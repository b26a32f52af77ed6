"""The domain watch's rules: when an expiry warns and how urgently, which networks two
addresses share, and which DNS changes are alerts rather than journal events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sitekeeper.domain.dns_watch import (
    NEW_NETWORK,
    NS_CHANGE,
    DnsAnswer,
    DnsState,
    accept,
    network_of,
    review,
)
from sitekeeper.domain.registration import ExpiryRule, Registration

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "severity"),
    [(400, None), (31, None), (30, "medium"), (8, "medium"), (7, "high"), (0, "high"),
     (-1, "critical")],
)  # fmt: skip
def test_expiry_warns_from_the_plans_day_and_grows_urgent(days: int, severity: str | None) -> None:
    registration = Registration("example.test", expires=NOW + timedelta(days=days, hours=1))
    spec = ExpiryRule(warn_days=30).spec(1, registration, NOW)
    assert (spec.severity if spec else None) == severity


def test_an_unknown_expiry_or_a_failed_lookup_never_warns() -> None:
    rule = ExpiryRule(warn_days=30)
    assert rule.spec(1, Registration("example.test"), NOW) is None
    soon = NOW + timedelta(days=2)
    assert rule.spec(1, Registration("example.test", expires=soon, error="HTTP 500"), NOW) is None


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.77", "192.0.2.0/24"),
        ("2001:db8:1:ff::10", "2001:db8:1::/48"),
        ("::ffff:192.0.2.1", "192.0.2.0/24"),
        ("not an ip", None),
    ],
)
def test_networks_are_compared_by_prefix(address: str, network: str | None) -> None:
    assert network_of(address) == network


def _answer(**records: tuple[str, ...]) -> DnsAnswer:
    base = {"A": ("192.0.2.10",), "AAAA": (), "CNAME": (), "NS": ("ns1.a.test", "ns2.a.test"),
            "MX": ("10 mx.a.test",)}  # fmt: skip
    return DnsAnswer("www.a.test", "a.test", {**base, **records})


def test_the_first_lookup_is_the_trusted_baseline() -> None:
    first = review(1, None, _answer())
    assert first.first and first.specs == [] and first.changes == {}
    assert first.state.trusted_ns == ("ns1.a.test", "ns2.a.test")
    assert first.state.networks == ("192.0.2.0/24",)


def test_mx_and_same_network_changes_are_events_only() -> None:
    base = review(1, None, _answer()).state
    later = review(1, base, _answer(A=("192.0.2.99",), MX=("10 mx.other.test",)))
    assert set(later.changes) == {"A", "MX"} and later.specs == []


def test_ns_and_new_networks_are_alerts_until_accepted() -> None:
    base = review(1, None, _answer()).state
    hijacked = review(1, base, _answer(NS=("ns.evil.test",), A=("203.0.113.5",)))
    assert sorted(s.type for s in hijacked.specs) == [NEW_NETWORK, NS_CHANGE]
    # Seen again: still alerts (the state keeps the trusted set, not the latest one).
    again = review(1, hijacked.state, _answer(NS=("ns.evil.test",), A=("203.0.113.5",)))
    assert again.changes == {} and len(again.specs) == 2
    trusted = accept(again.state)
    assert review(1, trusted, _answer(NS=("ns.evil.test",), A=("203.0.113.5",))).specs == []


def test_a_type_that_failed_keeps_its_last_value() -> None:
    base = review(1, None, _answer()).state
    answer = DnsAnswer("www.a.test", "a.test", {"A": ("192.0.2.10",)}, {"NS": "timeout"})
    later = review(1, base, answer)
    assert later.state.records["NS"] == ("ns1.a.test", "ns2.a.test")
    assert "NS" not in later.changes and later.specs == []


def test_stored_state_reads_back_and_survives_odd_json() -> None:
    state = DnsState({"A": ("192.0.2.1",)}, ("ns.a.test",), ("192.0.2.0/24",))
    row = state.to_row()
    assert DnsState.from_row(row["records"], row["trusted_ns"], row["networks"]) == state
    odd = DnsState.from_row({"A": "x", "TXT": ["y"], "NS": ["ns.a.test"]}, [], [])
    assert odd.records == {"NS": ("ns.a.test",)}
