"""Which sites are due an inventory or fingerprint: SSH sites only, and in a fair order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from sitekeeper.store import inventories, sites
from sitekeeper.store.database import Database
from sitekeeper.store.site_import import import_sites
from sitekeeper.store.tables import Site
from tests.store.factories import DEFAULT_INTERVAL, NOW, baker, site

DAY = 86400.0
SSH = {"host": "127.0.0.1", "port": 2222, "user": "deploy", "docroot": "/var/www/site"}


def _ssh_site(db: Database, name: str) -> int:
    with db.session() as s:
        fields = sites.SiteFields(
            url=f"https://{name}.example", client=baker(s, name), name=name, ssh=dict(SSH)
        )
        return sites.add_site(s, fields, NOW, default_interval=DEFAULT_INTERVAL).id


def _null_ssh(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Site).where(text("ssh IS NULL"))) or 0


def test_sites_without_ssh_store_sql_null(db: Database, tmp_path: Path) -> None:
    """site add, site import and clearing SSH all leave ``ssh IS NULL`` true."""
    with db.session() as s:
        added = site(s, baker(s), "https://added.example")
        import_sites(
            s,
            "url,client,ssh\nhttps://imported.example,1,\nhttps://bare.example,1,\n",
            NOW,
            default_interval=DEFAULT_INTERVAL,
            base_dir=tmp_path,
        )
    cleared = _ssh_site(db, "cleared")
    with db.session() as s:
        sites.update_site(
            s,
            s.get_one(Site, cleared),
            sites.SiteFields(clear_ssh=True),
            NOW,
            default_interval=DEFAULT_INTERVAL,
        )
    assert _null_ssh(db) == 4
    with db.session() as s:
        assert s.get_one(Site, added.id).ssh is None


def test_a_site_with_ssh_is_due_behind_any_number_without(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        for i in range(120):
            site(s, client, f"https://no-ssh-{i}.example")
    reachable = _ssh_site(db, "reachable")
    with db.session() as s:
        assert inventories.sites_due(s, "inventory", NOW, DAY, limit=100) == [reachable]


def test_a_failing_site_goes_to_the_back_of_the_queue(db: Database) -> None:
    """Tried and failed (nothing stored): the others come first, then a retry an hour later."""
    first, second, third = (_ssh_site(db, n) for n in ("first", "second", "third"))
    order = []
    moment = NOW
    for _ in range(3):
        with db.session() as s:
            [due] = inventories.sites_due(s, "inventory", moment, DAY, limit=1)
            inventories.mark_attempted(s, "inventory", [due], moment)  # and it fails
        order.append(due)
        moment += timedelta(minutes=5)
    assert order == [first, second, third]
    with db.session() as s:
        assert inventories.sites_due(s, "inventory", moment, DAY) == []
        later = NOW + timedelta(seconds=inventories.RETRY_AFTER)
        assert inventories.sites_due(s, "inventory", later, DAY) == [first]
        assert inventories.sites_due(s, "inventory", later + timedelta(minutes=10), DAY) == [
            first,
            second,
            third,
        ]


def test_fingerprints_rotate_the_same_way(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        ids = [site(s, client, f"https://fp-{i}.example").id for i in range(3)]
    with db.session() as s:
        inventories.mark_attempted(s, "fingerprint", ids[:1], NOW)
        # Another kind's attempt does not move a site in this queue.
        inventories.mark_attempted(s, "inventory", ids[1:2], NOW)
    with db.session() as s:
        due = inventories.sites_due(s, "fingerprint", NOW + timedelta(minutes=5), DAY)
    assert due == [ids[1], ids[2]]
