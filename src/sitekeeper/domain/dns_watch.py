"""The DNS watch's rules: what changed in a site's records, and which change is a possible
hijack.

Pure. A change of any watched record is a journal event. Two changes are alerts, filed as
findings of kind ``domain``: the name servers differ from the trusted set (who controls
the NS controls every record), or an address lies in a network the site was never seen
in (IPv4 /24, IPv6 /48; no ASN data is used, so a move inside a provider to another /24
alerts too). A finding stays open until the records go back or a technician accepts the
new state (``sitekeeper domain SITE --accept-dns``), which makes it the trusted one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sitekeeper.domain.findings import CERTAIN, FindingSpec
from sitekeeper.domain.registration import DOMAIN, ECOSYSTEM
from sitekeeper.domain.severity import Severity

TYPES = ("A", "AAAA", "CNAME", "NS", "MX")  # A/AAAA/CNAME of the site's host; NS/MX of its domain
ADDRESS_TYPES = ("A", "AAAA")
NS_CHANGE, NEW_NETWORK = "ns", "network"  # finding types
BASIS = "dns"
V4_PREFIX, V6_PREFIX = 24, 48


def network_of(address: str) -> str | None:
    """The network an address is compared by (``192.0.2.0/24``, ``2001:db8:1::/48``)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d is an IPv4 address: compare its /24
    prefix = V4_PREFIX if ip.version == 4 else V6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def networks_of(records: Mapping[str, Iterable[str]]) -> set[str]:
    """The networks of the A and AAAA records."""
    return {n for t in ADDRESS_TYPES for a in records.get(t, ()) if (n := network_of(a))}


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One look-up of the watched records; a type whose query failed is in ``failed``
    (unknown this time, not empty: it keeps its last seen value)."""

    host: str
    domain: str
    records: dict[str, tuple[str, ...]]
    failed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The documented ``sitekeeper domain --json`` shape of the records."""
        return {
            "host": self.host,
            "domain": self.domain,
            "records": {t: list(self.records.get(t, ())) for t in TYPES},
            "failed": dict(self.failed),
        }


@dataclass(frozen=True, slots=True)
class DnsState:
    """What is remembered per site: the last seen records, the trusted name servers and
    the networks the site's addresses were ever accepted in."""

    records: dict[str, tuple[str, ...]]
    trusted_ns: tuple[str, ...]
    networks: tuple[str, ...]

    def to_row(self) -> dict[str, Any]:
        """JSON-ready columns."""
        return {
            "records": {t: list(v) for t, v in self.records.items()},
            "trusted_ns": list(self.trusted_ns),
            "networks": list(self.networks),
        }

    @classmethod
    def from_row(
        cls, records: Mapping[str, Any], trusted_ns: Iterable[Any], networks: Iterable[Any]
    ) -> DnsState:
        """From stored JSON (read defensively: a wrong type reads as nothing)."""
        clean = {
            t: tuple(str(v) for v in values)
            for t, values in (records or {}).items()
            if t in TYPES and isinstance(values, list)
        }
        return cls(clean, tuple(str(n) for n in trusted_ns), tuple(str(n) for n in networks))


@dataclass(frozen=True, slots=True)
class DnsReview:
    """What one look-up means: the new state, the changes (for the journal), the findings."""

    state: DnsState
    changes: dict[str, dict[str, list[str]]]  # type -> {"added": [...], "removed": [...]}
    specs: list[FindingSpec]
    first: bool = False

    @property
    def changed(self) -> bool:
        """Whether any watched record differs from the last look-up."""
        return bool(self.changes)


def review(site_id: int, previous: DnsState | None, answer: DnsAnswer) -> DnsReview:
    """Compare a look-up with what was seen before.

    The first look-up is the baseline: its name servers and networks are trusted.
    """
    records = dict(answer.records)
    if previous is not None:
        for kind in answer.failed:  # unknown this time: keep what was last seen
            if kind in previous.records:
                records[kind] = previous.records[kind]
    if previous is None:
        state = DnsState(records, records.get("NS", ()), tuple(sorted(networks_of(records))))
        return DnsReview(state, {}, [], first=True)
    changes: dict[str, dict[str, list[str]]] = {}
    for kind in TYPES:
        before, now = set(previous.records.get(kind, ())), set(records.get(kind, ()))
        if before != now:
            changes[kind] = {"added": sorted(now - before), "removed": sorted(before - now)}
    trusted = previous.trusted_ns or records.get("NS", ())
    state = DnsState(
        records, tuple(trusted), previous.networks or tuple(sorted(networks_of(records)))
    )
    return DnsReview(state, changes, _specs(site_id, answer, state))


def accept(state: DnsState) -> DnsState:
    """The current records become the trusted ones (a planned move of host or registrar)."""
    networks = set(state.networks) | networks_of(state.records)
    return DnsState(state.records, state.records.get("NS", ()), tuple(sorted(networks)))


def _specs(site_id: int, answer: DnsAnswer, state: DnsState) -> list[FindingSpec]:
    """The alerts the state holds: NS not the trusted ones, addresses in unknown networks."""
    specs: list[FindingSpec] = []
    ns = state.records.get("NS", ())
    if ns and state.trusted_ns and set(ns) != set(state.trusted_ns):
        specs.append(
            _spec(
                site_id,
                NS_CHANGE,
                answer.domain,
                title=f"name servers of {answer.domain} changed",
                evidence=f"now {', '.join(ns)}; trusted {', '.join(state.trusted_ns)}",
            )
        )
    known = set(state.networks)
    for network in sorted(networks_of(state.records) - known):
        addresses = [
            a for t in ADDRESS_TYPES for a in state.records.get(t, ()) if network_of(a) == network
        ]
        specs.append(
            _spec(
                site_id,
                NEW_NETWORK,
                f"{answer.host} {network}",
                title=f"{answer.host} points to a network not seen before ({network})",
                evidence=f"now {', '.join(addresses)}; known {', '.join(sorted(known)) or '-'}",
            )
        )
    return specs


def _spec(site_id: int, type_: str, item: str, *, title: str, evidence: str) -> FindingSpec:
    return FindingSpec(
        site_id=site_id,
        kind=DOMAIN,
        ecosystem=ECOSYSTEM,
        type=type_,
        package=item[:200],
        installed=None,
        basis=BASIS,
        security=True,
        certainty=CERTAIN,
        severity=str(Severity.HIGH),
        note="possible hijack: check with the registrar and the host; if the move was "
        "planned, accept it (sitekeeper domain SITE --accept-dns)",
        extra=(("title", title), ("evidence", evidence[:500])),
    )
