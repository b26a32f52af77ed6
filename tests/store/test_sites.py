"""Site queries: lookup by id/name/URL, contract choice, removal and the journal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store import clients, contracts, sites
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Event, Job, Site
from tests.store.factories import DEFAULT_INTERVAL, NOW, VAULT, baker, basic, contract, site


@pytest.mark.parametrize(
    "ref",
    [
        "1",
        "shop",
        "https://shop.example.com/de",
        "https://shop.example.com/de/",
        "HTTPS://Shop.Example.com/de",
    ],
)
def test_site_found_by_id_name_or_url(db: Database, ref: str) -> None:
    with db.session() as s:
        site(s, baker(s), url="https://shop.example.com/de", name="shop")
    with db.session() as s:
        assert sites.get_site(s, ref).name == "shop"


def test_unknown_site_is_not_found(db: Database) -> None:
    with db.session() as s:
        site(s, baker(s))
    with db.session() as s, pytest.raises(NotFound, match="no site"):
        sites.get_site(s, "https://nowhere.example")


def test_default_names_are_the_host_made_unique(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        names = [site(s, client, url=f"https://example.com/{p}").name for p in ("", "a", "b")]
    assert names == ["example.com", "example.com-2", "example.com-3"]


def test_site_joins_the_only_active_contract(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        old = contracts.add_contract(
            s,
            client_id=client.id,
            plan_id=basic(s).id,
            start=date(2020, 1, 1),
            end=date(2021, 1, 1),
        )
        running = contract(s, client, basic(s, name="Pro"))
        created = site(s, client)
    assert old.id != running.id
    assert created.contract_id == running.id


def test_no_contract_when_the_client_has_two_active(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        contract(s, client, basic(s))
        contract(s, client, basic(s, name="Pro"))
        assert site(s, client).contract_id is None


def test_contract_of_another_client_is_refused(db: Database) -> None:
    with db.session() as s:
        theirs = contract(s, baker(s, name="Other"), basic(s))
        mine = baker(s)
        with pytest.raises(UsageError, match="another client"):
            site(s, mine, contract=theirs)


def test_duplicate_name_is_refused_and_nothing_stored(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        site(s, client, name="shop")
    with pytest.raises(UsageError, match="already exists"), db.session() as s:
        site(s, clients.get_client(s, "Bäckerei Müller"), url="https://b.example", name="shop")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 1


def test_remove_site_drops_job_and_journals(db: Database) -> None:
    with db.session() as s:
        created = site(s, baker(s))
    with db.session() as s:
        sites.remove_site(s, sites.get_site(s, created.name), NOW)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        kinds = [e.kind for e in s.scalars(select(Event).order_by(Event.id))]
    assert kinds == ["site.added", "site.removed"]


def test_non_ascii_client_round_trips_with_encrypted_alert_urls(db: Database) -> None:
    url = "tgram://123456789:AAbbccddeeff/987654"
    with db.session() as s:
        clients.add_client(s, VAULT, name="Bäckerei Müller – Café ☕", alert_urls=[url])
    with db.session() as s:
        stored = s.scalars(select(Client)).one()
        assert stored.name == "Bäckerei Müller – Café ☕"
        assert url not in str(stored.alert_urls)  # encrypted at rest
        assert clients.alert_urls(stored, VAULT) == [url]
        assert clients.mask_url(url) == "tgram://****7654"


def test_client_with_sites_cannot_be_removed(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        site(s, client)
        with pytest.raises(UsageError, match="1 site"):
            clients.remove_client(s, client)


def test_effective_price_prefers_override(db: Database) -> None:
    with db.session() as s:
        client, plan = baker(s), basic(s)
        plain, special = contract(s, client, plan), contract(s, client, plan, price=Decimal(59))
        assert contracts.effective_price(plain) == Decimal("49.00")
        assert contracts.effective_price(special) == Decimal("59.00")


def test_job_count_matches_sites(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        for i in range(5):
            site(s, client, url=f"https://s{i}.example")
        assert s.scalar(select(func.count()).select_from(Job)) == 5
        assert DEFAULT_INTERVAL in set(s.scalars(select(Job.interval)))
