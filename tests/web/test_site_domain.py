"""The site page shows the domain watch: expiry, registrar, status, DNSSEC, the records
last seen and the open domain issues, the registry's and the DNS server's words escaped
(issue 12 §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sitekeeper.domain.dns_watch import DnsAnswer
from sitekeeper.domain.domain_check import DomainCheck
from sitekeeper.domain.registration import Registration
from sitekeeper.store import domain_watch
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, login


def _check(now: datetime, a: str, *, registrar: str) -> DomainCheck:
    registration = Registration(
        "example.test",
        registrar=registrar,
        expires=now + timedelta(days=9, hours=1),
        statuses=("client transfer prohibited",),
        dnssec=True,
    )
    records = {"A": (a,), "AAAA": (), "CNAME": (), "NS": ("ns1.example.test",), "MX": ()}
    dns = DnsAnswer("www.example.test", "example.test", records)
    return DomainCheck("https://www.example.test/", "www.example.test", "example.test", now,
                       registration, dns)  # fmt: skip


def test_site_page_shows_the_domain_and_its_open_issues(
    db: Database, live: Live, world: World
) -> None:
    site_id = world.globex_sites[0]
    tom = login(live.base, "tom@agency.example")
    assert "Not checked yet: the domain watch" in tom.get(f"/sites/{site_id}").text
    now = datetime.now(UTC)
    with db.session() as session, session.begin():
        goal = domain_watch.target(session, site_id)
        domain_watch.file_check(session, goal, _check(now, "192.0.2.10", registrar="<b>Reg</b>"))
        domain_watch.file_check(session, goal, _check(now, "203.0.113.9", registrar="<b>Reg</b>"))
    page = tom.get(f"/sites/{site_id}").text
    section = page[page.index('id="domain"') :]
    section = section[: section.index("</section>")]
    assert "example.test" in section and "9 days left" in section
    assert "&lt;b&gt;Reg&lt;/b&gt;" in section and "<b>Reg</b>" not in page
    assert "client transfer prohibited" in section and "signed" in section
    assert "203.0.113.9" in section and "ns1.example.test" in section
    assert "expires on" in section  # the expiry warning (9 days, inside the plan's warning)
    assert "points to a network not seen before (203.0.113.0/24)" in section
