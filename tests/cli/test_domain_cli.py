"""`sitekeeper domain SITE`: the registration and records checked, stored and shown (text
and the documented JSON), a DNS move accepted with who and why."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.cli.conftest import Run, as_json
from tests.intel.threaded import serve_in_thread
from tests.probes.conftest import Site
from tests.probes.domain_servers import Registry, Zone, dns_server, in_days, rdap_domain


@pytest.fixture
def env(agency: Run) -> Iterator[tuple[dict[str, str], Zone, Registry]]:
    zone = Zone()
    zone.set("www.example.test", "A", "192.0.2.10")
    zone.set("example.test", "NS", "ns1.example.test", "ns2.example.test")
    zone.set("example.test", "MX", "10 mx.example.test")
    registry = Registry({"example.test": rdap_domain("example.test", expires=in_days(12))})
    # The RDAP server on a loop of its own (the CLI runs its own event loop).
    with dns_server(zone) as address, serve_in_thread(registry.app()) as base:
        port = urlsplit(base).port
        assert port is not None
        registry.site = Site("127.0.0.1", port)  # where its bootstrap file points
        yield (
            {
                "SITEKEEPER_RDAP_BOOTSTRAP_URL": registry.site.url("/dns.json"),
                "SITEKEEPER_EGRESS_ALLOW": "loopback",
                "SITEKEEPER_DNS_SERVERS": address,
                "SITEKEEPER_DNS_TIMEOUT": "1",
            },
            zone,
            registry,
        )


def test_domain_shows_registration_records_and_the_open_warning(
    agency: Run, env: tuple[dict[str, str], Zone, Registry]
) -> None:
    variables, zone, _ = env
    agency("site", "add", "https://www.example.test/", "--client", "Bäckerei Müller",
           "--name", "shop")  # fmt: skip
    result = agency("domain", "shop", "--json", env=variables, ok=False)
    assert result.exit_code == 1  # 12 days left: the warning is open
    report = as_json(result)
    registration = report["check"]["registration"]
    assert registration["registrar"] == "Example Registrar, Inc."
    assert registration["days_left"] == 12
    assert registration["transfer_locked"] is True and registration["dnssec"] is True
    assert report["check"]["dns"]["records"]["A"] == ["192.0.2.10"]
    [issue] = report["stored"]["issues"]
    assert issue["type"] == "expiry" and issue["severity"] == "medium"

    zone.set("www.example.test", "A", "192.0.2.11")
    again = as_json(agency("domain", "shop", env=variables, ok=False))
    assert again["dns_changes"] == {"A": {"added": ["192.0.2.11"], "removed": ["192.0.2.10"]}}
    assert again["stored"]["records"]["A"] == ["192.0.2.11"]

    journal = agency("journal", "shop", "--json").stdout
    assert "dns.changed" in journal


def test_a_planned_ns_move_is_accepted(
    agency: Run, env: tuple[dict[str, str], Zone, Registry]
) -> None:
    variables, zone, registry = env
    registry.domains["example.test"] = rdap_domain("example.test", expires=in_days(300))
    agency("site", "add", "https://www.example.test/", "--client", "Bäckerei Müller",
           "--name", "shop")  # fmt: skip
    assert agency("domain", "shop", "--json", env=variables).exit_code == 0
    zone.set("example.test", "NS", "ns1.newhost.example", "ns2.newhost.example")
    moved = as_json(agency("domain", "shop", "--json", env=variables, ok=False))
    assert [i["type"] for i in moved["stored"]["issues"]] == ["ns"]
    accepted = agency("domain", "shop", "--accept-dns", "--by", "anna", "--why", "new host")
    assert "1 alert(s) resolved" in accepted.stdout
    assert agency("domain", "shop", "--json", env=variables).exit_code == 0
