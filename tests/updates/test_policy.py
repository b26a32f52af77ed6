"""Which pending updates a plan's update policy applies by itself, and what it leaves for a
person: a fix only in a major release, and anything a policy run of it already rolled
back (until a person acts), or refused within the last hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.store import clients, contracts, inventories, plans, releases, sites
from sitekeeper.store import updates as runs
from sitekeeper.store.database import Database
from sitekeeper.updates.policy import due_updates
from sitekeeper.vault import Vault

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def site_on(db: Database, policy: str, name: str, *, ssh: bool = True) -> int:
    """A WordPress 6.1.9 site (6.1.10 fixes a vulnerability on its branch, 6.8.3 is the
    next major) with Akismet 5.0.2 (5.5, no vulnerability), on a plan with ``policy``."""
    vault = Vault(Fernet.generate_key())
    inventory = Inventory(
        cms="wordpress", version="6.1.9", collected_at=NOW,
        extensions=[Extension(type="plugin", slug="akismet", name="Akismet", version="5.0.2",
                              update_source="wordpress.org")],
    )  # fmt: skip
    packages = [
        PackageInfo(WORDPRESS, "core", "wordpress", latest="6.8.3", source="wordpress.org",
                    details={"branch_latest": {"6.1": "6.1.10", "6.8": "6.8.3"}},
                    releases=(ReleaseInfo("6.1.9", insecure=True), ReleaseInfo("6.1.10"),
                              ReleaseInfo("6.8.3"))),
        PackageInfo(WORDPRESS, "plugin", "akismet", latest="5.5", source="wordpress.org",
                    releases=(ReleaseInfo("5.0.2"), ReleaseInfo("5.5"))),
    ]  # fmt: skip
    with db.session() as session:
        client = clients.add_client(session, vault, name=f"client {name}", now=NOW)
        plan = plans.add_plan(session, name=f"plan {name}", options={"update_policy": policy})
        contract = contracts.add_contract(
            session, client_id=client.id, plan_id=plan.id, start=NOW.date(), now=NOW
        )
        fields = sites.SiteFields(
            url=f"https://{name}.example/", name=name, client=client, contract=contract
        )
        site = sites.add_site(session, fields, NOW, default_interval=300)
        site.cms = "wordpress"
        if ssh:
            site.ssh = {"host": "127.0.0.1", "port": 22, "user": name, "docroot": "/srv/x"}
        inventories.store_inventory(session, site, inventory)
        releases.store_packages(session, packages, NOW)
        rematch(session, NOW, site_ids=[site.id])
        return site.id


def due(
    db: Database, at: datetime = NOW
) -> dict[int, tuple[bool, tuple[str, ...], tuple[str, ...]]]:
    """Site id -> (core?, plugins) as the policy would select them."""
    with db.session() as session:
        found = due_updates(session, at)
    return {d.site_id: (d.selection.core, d.selection.plugins, d.selection.themes) for d in found}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("security", (True, (), ())),  # the branch's security fix; never the major
        ("minor", (True, ("akismet",), ())),
        ("all", (True, ("akismet",), ())),
        ("none", None),
    ],
)
def test_each_policy_selects_what_it_applies_by_itself(
    sqlite_db: Database, policy: str, expected: tuple[bool, tuple[str, ...], tuple[str, ...]] | None
) -> None:
    site_id = site_on(sqlite_db, policy, "shop")
    assert due(sqlite_db).get(site_id) == expected


def test_the_targets_are_the_branch_fix_for_security_and_the_newest_for_all(
    sqlite_db: Database,
) -> None:
    secure, everything = site_on(sqlite_db, "security", "a"), site_on(sqlite_db, "all", "b")
    with sqlite_db.session() as session:
        from sitekeeper.updates.run import site_plan
        from sitekeeper.updates.target import site_facts

        chosen = {d.site_id: site_plan(site_facts(session, str(d.site_id)), d.selection)
                  for d in due_updates(session, NOW)}  # fmt: skip
    assert [(i.package, i.target) for i in chosen[secure].items] == [("wordpress", "6.1.10")]
    assert sorted((i.package, i.target) for i in chosen[everything].items) == [
        ("akismet", "5.5"), ("wordpress", "6.8.3"),
    ]  # fmt: skip


def test_a_site_without_ssh_is_never_due(sqlite_db: Database) -> None:
    site_on(sqlite_db, "all", "nossh", ssh=False)
    assert due(sqlite_db) == {}


def test_what_a_policy_run_rolled_back_waits_for_a_person_and_a_refusal_for_hours(
    sqlite_db: Database,
) -> None:
    site_id = site_on(sqlite_db, "minor", "shop")
    core = {"type": "core", "package": "wordpress", "installed": "6.1.9", "target": "6.1.10"}
    plugin = {"type": "plugin", "package": "akismet", "installed": "5.0.2", "target": "5.5"}
    with sqlite_db.session() as session:
        broke = runs.start_run(session, site_id, [core], trigger="policy", requested_by=None,
                               now=NOW - timedelta(days=3))  # fmt: skip
        runs.finish_run(session, broke.id, "rolled_back", NOW - timedelta(days=3))
        refused = runs.start_run(session, site_id, [plugin], trigger="policy", requested_by=None,
                                 now=NOW - timedelta(hours=1))  # fmt: skip
        runs.finish_run(session, refused.id, "refused", NOW - timedelta(hours=1))
    assert site_id not in due(sqlite_db)  # both held
    assert due(sqlite_db, NOW + timedelta(hours=6)) == {site_id: (False, ("akismet",), ())}
    with sqlite_db.session() as session:  # a person's own run does not hold anything
        manual = runs.start_run(session, site_id, [plugin], trigger="manual", requested_by="x",
                                now=NOW)  # fmt: skip
        runs.finish_run(session, manual.id, "rolled_back", NOW)
    assert due(sqlite_db, NOW + timedelta(hours=6)) == {site_id: (False, ("akismet",), ())}
