"""A stored fingerprint keeps only clean text: a hacked site's version string cannot carry
terminal escapes or newlines into the store, the CLI tables or the logs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.store import clients, inventories
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import FingerprintRecord, SiteSoftware
from tests.store.factories import VAULT, site

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_hostile_version_string_is_stored_as_one_clean_line(db: Database) -> None:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Acme", now=NOW)
        shop = site(session, owner)
        found = Fingerprint(
            url=shop.url,
            cms="drupal",
            candidates=["10.2.3\x1b]52;c;ZXZpbA==\x07", ">=10.0\n<11.0"],
            evidence=["x"],
        )
        inventories.store_fingerprint(session, shop, found, NOW)
        exact = Fingerprint(url=shop.url, cms="drupal", version="10.2.3\u202e\nforged")
        inventories.store_fingerprint(session, shop, exact, NOW)
    with db.session() as session:
        records = session.scalars(select(FingerprintRecord).order_by(FingerprintRecord.id)).all()
        software = session.scalars(select(SiteSoftware)).one()
    assert records[0].data["candidates"] == ["10.2.3]52;c;ZXZpbA==", ">=10.0 <11.0"]
    assert records[1].version == records[1].data["version"] == "10.2.3 forged"
    assert software.version == "10.2.3 forged"
