"""Which pending updates a plan's update policy applies by itself, and what it leaves for a
person: a fix only in a major release, a theme (no vendor checksums to verify it by),
and anything a policy run of it already rolled back (until a person acts), or refused
within the last hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.errors import UsageError
from sitekeeper.store import clients, contracts, inventories, plans, releases, sites
from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as runs
from sitekeeper.store.backups import due_backups
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site
from sitekeeper.updates import policy
from sitekeeper.updates.policy import due_updates, schedule
from sitekeeper.vault import Vault

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def site_on(db: Database, policy: str, name: str, *, ssh: bool = True, **options: object) -> int:
    """A WordPress 6.1.9 site (6.1.10 fixes a vulnerability on its branch, 6.8.3 is the
    next major) with Akismet 5.0.2 (5.5, no vulnerability), on a plan with ``policy``."""
    vault = Vault(Fernet.generate_key())
    inventory = Inventory(
        cms="wordpress", version="6.1.9", collected_at=NOW,
        extensions=[Extension(type="plugin", slug="akismet", name="Akismet", version="5.0.2",
                              update_source="wordpress.org"),
                    # a theme's archive has no vendor checksums: never a policy's to apply
                    Extension(type="theme", slug="twentytwentythree", name="TT3", version="1.0",
                              update_source="wordpress.org")],
    )  # fmt: skip
    packages = [
        PackageInfo(WORDPRESS, "core", "wordpress", latest="6.8.3", source="wordpress.org",
                    details={"branch_latest": {"6.1": "6.1.10", "6.8": "6.8.3"}},
                    releases=(ReleaseInfo("6.1.9", insecure=True), ReleaseInfo("6.1.10"),
                              ReleaseInfo("6.8.3"))),
        PackageInfo(WORDPRESS, "plugin", "akismet", latest="5.5", source="wordpress.org",
                    releases=(ReleaseInfo("5.0.2"), ReleaseInfo("5.5"))),
        PackageInfo(WORDPRESS, "theme", "twentytwentythree", latest="1.6",
                    source="wordpress.org", releases=(ReleaseInfo("1.0"), ReleaseInfo("1.6"))),
    ]  # fmt: skip
    with db.session() as session:
        client = clients.add_client(
            session, vault, name=f"client {name}", timezone="Europe/Berlin", now=NOW
        )
        plan = plans.add_plan(
            session, name=f"plan {name}", options={"update_policy": policy, **options}
        )
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


Items = tuple[tuple[str, str, str], ...]


def due(db: Database, at: datetime = NOW) -> dict[int, Items]:
    """Site id -> the (type, package, target) the policy job would apply now."""
    with db.session() as session:
        found = due_updates(session, at)
    return {d.site_id: tuple(sorted(d.selection.exact)) for d in found}


def queued(db: Database) -> dict[tuple[str, str], str]:
    """(package, target) -> status of every approval."""
    every = ("pending", "approved", "rejected", "superseded", "applied")
    with db.session() as session:
        return {(a.package, a.target): a.status for a in queue.approvals(session, statuses=every)}


CORE_FIX, CORE_MAJOR = ("core", "wordpress", "6.1.10"), ("core", "wordpress", "6.8.3")
AKISMET = ("plugin", "akismet", "5.5")


@pytest.mark.parametrize(
    ("policy", "expected", "waiting"),
    [
        # the branch's security fix; the major and the plain update wait for a person
        ("security", (CORE_FIX,), {("wordpress", "6.8.3"), ("akismet", "5.5")}),
        ("minor", (CORE_FIX, AKISMET), {("wordpress", "6.8.3")}),
        ("all", (CORE_MAJOR, AKISMET), set()),
        ("none", None, set()),  # updates by hand only: nothing queued either
    ],
)
def test_each_policy_applies_its_share_and_queues_the_rest_for_approval(
    sqlite_db: Database, policy: str, expected: Items | None, waiting: set[tuple[str, str]]
) -> None:
    site_id = site_on(sqlite_db, policy, "shop")
    assert due(sqlite_db).get(site_id) == expected
    assert queued(sqlite_db) == dict.fromkeys(waiting, "pending")


def test_an_approved_major_is_applied_exactly_and_a_rejected_update_is_not_asked_again(
    sqlite_db: Database,
) -> None:
    site_id = site_on(sqlite_db, "security", "shop")
    due(sqlite_db)  # queues 6.8.3 and akismet 5.5
    with sqlite_db.session() as session:
        ids = {(a.package, a.target): a.id for a in queue.approvals(session)}
        queue.decide(session, ids[("wordpress", "6.8.3")], approve=True, who="tom", now=NOW)
        queue.decide(session, ids[("akismet", "5.5")], approve=False, who="tom", now=NOW)
        with pytest.raises(UsageError, match="rejected already"):
            queue.decide(session, ids[("akismet", "5.5")], approve=True, who="tom", now=NOW)
    assert due(sqlite_db) == {site_id: (CORE_MAJOR,)}  # the approved major, not the branch fix
    assert queued(sqlite_db) == {("wordpress", "6.8.3"): "approved", ("akismet", "5.5"): "rejected"}


def test_a_held_extension_is_neither_applied_nor_queued(sqlite_db: Database) -> None:
    site_id = site_on(sqlite_db, "minor", "shop")
    with sqlite_db.session() as session:
        queue.hold(session, site_id, ("plugin", "akismet"), reason="breaks the shop", who="tom",
                   now=NOW)  # fmt: skip
        with pytest.raises(UsageError, match="reason"):
            queue.hold(session, site_id, ("plugin", "x"), reason=" ", who="tom", now=NOW)
    assert due(sqlite_db) == {site_id: (CORE_FIX,)}
    assert ("akismet", "5.5") not in queued(sqlite_db)
    with sqlite_db.session() as session:
        assert queue.release(session, site_id, ("plugin", "akismet"))
    assert due(sqlite_db) == {site_id: (CORE_FIX, AKISMET)}


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
    assert due(sqlite_db, NOW + timedelta(hours=6)) == {site_id: (AKISMET,)}
    with sqlite_db.session() as session:  # a person's own run does not hold anything
        manual = runs.start_run(session, site_id, [plugin], trigger="manual", requested_by="x",
                                now=NOW)  # fmt: skip
        runs.finish_run(session, manual.id, "rolled_back", NOW)
    assert due(sqlite_db, NOW + timedelta(hours=6)) == {site_id: (AKISMET,)}


def test_outside_the_window_only_a_security_fix_due_before_it_opens_is_applied(
    sqlite_db: Database,
) -> None:
    # NOW is Tuesday 10:00 in Berlin; the window opens on Saturday night.
    site_id = site_on(sqlite_db, "minor", "shop", update_window="Sat 02:00-05:00")
    assert due(sqlite_db) == {site_id: (CORE_FIX,)}  # due within 4 h: cannot wait for Saturday
    saturday = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)  # 03:30 in Berlin
    assert due(sqlite_db, saturday) == {site_id: (CORE_FIX, AKISMET)}
    patient = site_on(sqlite_db, "minor", "blog", update_window="Sat 02:00-05:00",
                      security_within_hours=200)  # fmt: skip
    assert patient not in due(sqlite_db)  # its deadline comes after the window opens


def test_the_schedule_says_when_the_window_will_let_each_update_in(sqlite_db: Database) -> None:
    site_id = site_on(sqlite_db, "minor", "shop", update_window="Sat 02:00-05:00")
    with sqlite_db.session() as session:
        planned = schedule(session, NOW).scheduled
        assert due_updates(session, NOW)  # reading the schedule changed nothing it reports
        again = schedule(session, NOW).scheduled
    opens = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # Saturday 02:00 in Berlin
    assert {(e.site_id, e.item.package, e.at) for e in planned} == {
        (site_id, "wordpress", NOW),  # the security fix cannot wait for Saturday
        (site_id, "akismet", opens),
    }
    assert planned == again


def test_sites_read_a_chunk_at_a_time_give_the_same_schedule(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [site_on(sqlite_db, p, n) for p, n in (("security", "a"), ("none", "b"), ("all", "c"))]
    held = site_on(sqlite_db, "minor", "d", update_window="Sat 02:00-05:00")
    with sqlite_db.session() as session:
        whole = schedule(session, NOW)
        monkeypatch.setattr(policy, "CHUNK", 1)
        assert schedule(session, NOW) == whole
    assert {e.site_id for e in whole.scheduled} == {ids[0], ids[2], held}
    assert {site for site, _ in whole.to_ask} == {ids[0], held}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_fleet_past_postgresqls_parameter_limit_is_scheduled(db: Database) -> None:
    """One statement takes at most 65,535 parameters on PostgreSQL: the schedule must not
    name every site with a policy in one query."""
    site_id = site_on(db, "minor", "shop")
    with db.session() as session:
        contract_id = session.get(Site, site_id).contract_id  # type: ignore[union-attr]
        session.execute(
            text(
                "INSERT INTO sites (name, url, check_options, paused, created_at, contract_id,"
                " ssh, backup_host) SELECT 's' || n, 'https://s' || n || '.example/', '{}',"
                ' false, now(), :contract, \'{"host": "127.0.0.1", "user": "u"}\','
                " 'h' || n FROM generate_series(1, 66000) AS n"
            ),
            {"contract": contract_id},
        )
    assert due(db) == {site_id: (CORE_FIX, AKISMET)}


def test_ssh_access_holding_json_null_counts_as_none(db: Database) -> None:
    """An older row may hold JSON null rather than SQL NULL: no SSH access either way, for
    the policies and for the backups."""
    site_id = site_on(db, "all", "shop", backup="daily")
    with db.session() as session:
        assert due_backups(session, NOW) == [site_id]
        session.execute(text("UPDATE sites SET ssh = 'null'"))
    assert due(db) == {}
    with db.session() as session:
        assert due_backups(session, NOW) == []


def test_what_was_asked_already_is_not_asked_again_each_round(sqlite_db: Database) -> None:
    site_on(sqlite_db, "security", "shop")
    with sqlite_db.session() as session:
        assert {i.package for _, i in schedule(session, NOW).to_ask} == {"wordpress", "akismet"}
    due(sqlite_db)  # queues both
    with sqlite_db.session() as session:
        ids = {a.package: a.id for a in queue.approvals(session)}
        queue.decide(session, ids["akismet"], approve=False, who="tom", now=NOW)
        assert schedule(session, NOW).to_ask == []  # pending and rejected: nothing to change
    assert queued(sqlite_db) == {("wordpress", "6.8.3"): "pending", ("akismet", "5.5"): "rejected"}


def test_questions_about_updates_no_longer_pending_are_withdrawn(sqlite_db: Database) -> None:
    site_on(sqlite_db, "security", "shop")
    due(sqlite_db)  # asks about 6.8.3 and akismet 5.5
    with sqlite_db.session() as session:  # a person updated everything by hand
        session.execute(text("UPDATE findings SET resolved_at = '2026-12-01 10:00:00'"))
    assert due(sqlite_db) == {}
    assert queued(sqlite_db) == {
        ("wordpress", "6.8.3"): "superseded",
        ("akismet", "5.5"): "superseded",
    }
