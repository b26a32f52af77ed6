"""The dashboard's named queries on SQLite and PostgreSQL: users, sessions, throttle, fleet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from sitekeeper.domain.checks import CheckResult, TlsInfo
from sitekeeper.domain.findings import UPDATE, VULNERABILITY
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.errors import UsageError
from sitekeeper.store import backups, findings, fleet, monitoring, sites, users
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Site
from sitekeeper.store.web_tables import LoginThrottle
from tests.store.factories import hack_spec
from tests.web.conftest import PASSWORD, World

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_passwords_are_hashed_and_checked(db: Database) -> None:
    with db.session() as s:
        user = users.add_user(
            s,
            email=" Bob@Agency.Example ",
            role="technician",
            password=PASSWORD,
            now=NOW,
        )
        assert user.email == "bob@agency.example"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    with db.session() as s:
        assert users.authenticate(s, "BOB@agency.example", PASSWORD, NOW) is not None
        assert users.authenticate(s, "bob@agency.example", "nope nope nope", NOW) is None
        assert users.authenticate(s, "nobody@agency.example", PASSWORD, NOW) is None


@pytest.mark.parametrize(
    ("role", "with_client", "problem"),
    [
        ("owner", False, "invalid role"),
        ("client", False, "needs --client"),
        ("admin", True, "needs --client"),
    ],
)
def test_bad_users_are_refused(
    db: Database, world: World, role: str, with_client: bool, problem: str
) -> None:
    with db.session() as s:
        from sitekeeper.store.tables import Client

        client = s.get(Client, world.acme) if with_client else None
        with pytest.raises(UsageError, match=problem):
            users.add_user(
                s,
                email="x@y.example",
                role=role,
                password=PASSWORD,
                client_id=client.id if client else None,
                now=NOW,
            )
        with pytest.raises(UsageError, match="at least 10"):
            users.add_user(s, email="x@y.example", role="admin", password="short", now=NOW)


def test_sessions_expire_and_tokens_are_stored_hashed(db: Database, world: World) -> None:
    with db.session() as s:
        admin = users.get_user(s, world.admin)
        raw, row = users.create_session(s, admin, NOW, timedelta(hours=1))
        assert row.id_hash != raw
        assert users.session_user(s, raw, NOW + timedelta(minutes=59)) is not None
        assert users.session_user(s, raw, NOW + timedelta(minutes=61)) is None
        token, stored = users.create_token(s, admin, "ci", NOW)
        assert token.startswith("skt_") and stored.token_hash != token
        assert users.token_user(s, token, NOW) is admin
        users.revoke_token(s, admin, stored.id)
        assert users.token_user(s, token, NOW) is None


def test_failures_earn_doubling_waits_up_to_a_ceiling_and_quiet_forgets(db: Database) -> None:
    key = "pair:eve@x.example|192.0.2.1"
    keyed = [(key, users.PAIR_POLICY)]

    def wait_after(at: datetime) -> timedelta | None:
        with db.session() as s:
            users.record_failure(s, keyed, at)
            until = users.locked_until(s, [key], at)
        return until - at if until else None

    assert [wait_after(NOW + timedelta(seconds=i)) for i in range(4)] == [None] * 4
    waits = [wait_after(NOW + timedelta(hours=i / 100)) for i in range(8)]
    assert waits[:5] == [timedelta(seconds=s) for s in (15, 30, 60, 120, 240)]
    assert waits[-1] == timedelta(minutes=15)  # the ceiling: never a lock for good
    # An hour without failures: counting starts again.
    assert wait_after(NOW + timedelta(hours=3)) is None


def test_housekeeping_purges_quiet_throttle_rows_and_keeps_waits_in_force(
    db: Database,
) -> None:
    with db.session() as s:
        users.record_failure(s, [("ip:192.0.2.9", users.IP_POLICY)], NOW - timedelta(days=2))
        for _ in range(users.PAIR_POLICY.free + 30):
            users.record_failure(s, [("pair:a|b", users.PAIR_POLICY)], NOW - timedelta(days=2))
        s.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == "pair:a|b")
            .values(locked_until=NOW + timedelta(minutes=1))
        )
        users.remember_address(s, "old@x.example|192.0.2.3", NOW - timedelta(days=31))
        users.remember_address(s, "new@x.example|192.0.2.3", NOW - timedelta(days=1))
        users.record_failure(s, [("ip:192.0.2.10", users.IP_POLICY)], NOW)
    with db.session() as s:
        assert users.purge_expired(s, NOW) == 2
        left = set(s.scalars(select(LoginThrottle.key)))
    assert left == {"pair:a|b", "known:new@x.example|192.0.2.3", "ip:192.0.2.10"}


def test_the_fleet_puts_problems_first_and_filters(db: Database, world: World) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        page = fleet.fleet_page(s, fleet.FleetFilter(), now)
        assert page.total == 4
        assert [r.state for r in page.rows] == ["down", "down", "tls", "up"]
        assert page.rows[0].down_since is not None and page.rows[0].open_incidents == 1
        assert page.rows[0].tags == ["wordpress"]
        acme = fleet.fleet_page(s, fleet.FleetFilter(client_id=world.acme), now)
        assert {r.site_id for r in acme.rows} == set(world.acme_sites)
        text = fleet.fleet_page(s, fleet.FleetFilter(text="GLOBEX-p"), now)
        assert [r.name for r in text.rows] == ["globex-portal"]
        like = fleet.fleet_page(s, fleet.FleetFilter(text="%"), now)
        assert like.total == 0  # a wildcard typed by the user is a literal
        problems = fleet.fleet_page(s, fleet.FleetFilter(state="problems"), now)
        assert problems.total == 4  # globex-intranet is up, but its plan wants a backup
        second = fleet.fleet_page(s, fleet.FleetFilter(), now, sort="name", page=2, per_page=3)
        assert [r.name for r in second.rows] == ["globex-portal"] and second.total == 4
        past = fleet.fleet_page(s, fleet.FleetFilter(), now, page=9, per_page=3)
        assert past.rows == [] and past.total == 4 and past.pages == 2
        assert fleet.state_counts(s, None, now) == {
            "compromised": 0,
            "down": 2,
            "tls": 1,
            "unknown": 0,
            "up": 1,
            "paused": 0,
        }
        slow_last = fleet.fleet_page(s, fleet.FleetFilter(tag="wordpress"), now, sort="tls")
        assert slow_last.rows[0].name == "acme-blog"


def test_a_compromised_site_comes_first_with_its_own_filter_and_count(
    db: Database, world: World
) -> None:
    """An up site with a web shell is worse than a down one; the public status page (its
    client's visitors) still only says whether it answers."""
    now = datetime.now(UTC)
    intranet = world.globex_sites[1]
    with db.session() as s:
        findings.reconcile(s, [hack_spec(intranet)], now, site_ids=[intranet], kinds=["malware"])
    with db.session() as s:
        page = fleet.fleet_page(s, fleet.FleetFilter(), now)
        assert [(r.name, r.state) for r in page.rows][:2] == [
            ("globex-intranet", "compromised"),
            (page.rows[1].name, "down"),
        ]
        assert page.rows[0].compromised == 1
        only = fleet.fleet_page(s, fleet.FleetFilter(state="compromised"), now)
        assert [r.site_id for r in only.rows] == [intranet]
        assert fleet.fleet_page(s, fleet.FleetFilter(state="problems"), now).total == 4
        assert fleet.state_counts(s, None, now)["compromised"] == 1
        assert fleet.state_counts(s, world.acme, now)["compromised"] == 0
        public = {r.site_id: r.state for r in fleet.site_states(s, world.globex, now)}
        assert public[intranet] == "up"
        # Paused is the operator's choice: it still sorts last.
        s.execute(update(Site).where(Site.id == intranet).values(paused=True))
    with db.session() as s:
        rows = fleet.fleet_page(s, fleet.FleetFilter(), now).rows
        assert (rows[-1].site_id, rows[-1].state) == (intranet, "paused")


def _by_name(page: fleet.FleetPage) -> dict[str, fleet.FleetRow]:
    return {r.name: r for r in page.rows}


def test_the_fleet_shows_findings_and_backups_in_one_query(db: Database, world: World) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        rows = _by_name(fleet.fleet_page(s, fleet.FleetFilter(), now))
        shop, blog = rows["acme-shop"], rows["acme-blog"]
        portal, intranet = rows["globex-portal"], rows["globex-intranet"]
        assert (shop.updates, shop.security_updates, shop.vulns) == (2, 1, 1)
        assert (portal.updates, portal.security_updates, portal.vulns) == (1, 0, 0)
        assert (blog.updates, intranet.vulns) == (0, 0)
        assert shop.last_backup_at is not None and now - shop.last_backup_at < timedelta(hours=4)
        assert not shop.backup_failed and shop.at_risk  # the vulnerability
        assert blog.backup_failed and blog.last_backup_at is not None and blog.at_risk
        assert now - blog.last_backup_at > timedelta(hours=24)  # the good one before the failure
        assert intranet.last_backup_at is None and intranet.backup_expected and intranet.at_risk
        assert not portal.at_risk

        def names(issue: str | None = None, cms: str | None = None, sort: str = "") -> list[str]:
            flt = fleet.FleetFilter(issue=issue, cms=cms)
            return [r.name for r in fleet.fleet_page(s, flt, now, sort=sort or "problems").rows]

        assert names(issue="vulns") == ["acme-shop"]
        assert names(issue="security") == ["acme-shop"]
        assert sorted(names(issue="updates")) == ["acme-shop", "globex-portal"]
        assert sorted(names(issue="backup")) == ["acme-blog", "globex-intranet"]
        assert sorted(names(cms="wordpress")) == ["acme-shop", "globex-portal"]
        assert names(sort="vulns")[0] == "acme-shop"
        assert names(sort="updates")[:2] == ["acme-shop", "globex-portal"]
        assert names(sort="backup")[0] == "globex-intranet"  # none at all comes first
        everything = fleet.fleet_page(s, fleet.FleetFilter(), now, per_page=1)
        assert everything.issues == {"updates": 2, "security": 1, "vulns": 1, "backup": 2}
        globex = fleet.fleet_page(s, fleet.FleetFilter(client_id=world.globex), now)
        assert globex.issues == {"updates": 1, "security": 0, "vulns": 0, "backup": 1}
        assert fleet.all_cms(s, world.globex) == ["wordpress"]
    # Acme's blog backs up again: its certificate is its only problem now, and a site
    # without a backup (a problem) comes before a certificate warning.
    with db.session() as s:
        blog_site = s.get(Site, world.acme_sites[1])
        assert blog_site is not None
        run = backups.start_run(s, blog_site, None, "manual", now)
        figures = backups.RunFigures("f" * 64, 1, 1, 0, 10, 10, 10, 0, 1.0)
        backups.finish_run(s, run.id, figures, now)
    with db.session() as s:
        page = fleet.fleet_page(s, fleet.FleetFilter(), now)
        order = [r.name for r in page.rows]
        assert order[2:] == ["globex-intranet", "acme-blog"], order
        assert not _by_name(page)["acme-blog"].backup_failed


def test_findings_of_some_sites(db: Database, world: World) -> None:
    with db.session() as s:
        portal = findings.open_findings(
            s, site_ids=[world.globex_sites[0]], kinds=(UPDATE, VULNERABILITY)
        )
        assert [(f.site, f.package, f.latest) for f in portal] == [
            ("globex-portal", "woocommerce", "9.5.0")
        ]
        acme = findings.open_findings(s, site_ids=world.acme_sites, kinds=(VULNERABILITY,))
        assert [(f.advisory_id, f.certainty, f.data["fixed_in"]) for f in acme] == [
            ("WF-2026-0142", "certain", "5.8.2")
        ]
        assert (
            len(findings.open_findings(s, site_ids=None, kinds=(UPDATE,), security_only=True)) == 1
        )
        assert findings.open_findings(s, site_ids=[], kinds=(UPDATE,)) == []


def _priority(row: fleet.FleetRow) -> int:
    """The documented "problems first" order, computed independently of the query."""
    if row.paused:
        return 6
    if row.compromised:
        return 0
    if row.state == "down":
        return 1
    if row.at_risk:
        return 2
    return {"tls": 3, "unknown": 4, "up": 5}[row.state]


def test_problems_first_pages_agree_with_the_documented_order(db: Database, world: World) -> None:
    """Every page size walks the fleet in one order: compromised, down, at risk,
    certificate, never checked, healthy by name, paused — whether a page falls in one
    group or spans them."""
    now = datetime.now(UTC)
    made: list[int] = []
    with db.session() as s:
        client = s.get(Client, world.acme)
        assert client is not None
        for i in range(13):
            fields = sites.SiteFields(
                url=f"https://z{i:02d}.example/", client=client, paused=i % 6 == 5
            )
            row = sites.add_site(s, fields, now, default_interval=60)
            made.append(row.id)
            if i % 2:  # the plan wants backups: half have a good one, half are at risk
                run = backups.start_run(s, row, None, "scheduled", now)
                figures = backups.RunFigures(f"{i:064d}", 10, 10, 0, 1000, 1000, 1000, 100, 2.0)
                backups.finish_run(s, run.id, figures, now)
            if i % 4 == 0:
                monitoring.open_incident(s, made[-1], IncidentKind.DOWN, "timeout", now)
            if i % 5 == 2 or i == 11:  # hacked: one of them also down, one paused
                findings.reconcile(
                    s, [hack_spec(row.id)], now, site_ids=[row.id], kinds=["malware"]
                )
    with db.engine.begin() as conn:
        # Two in three are checked and up (some with a certificate about to expire);
        # the rest were never checked.
        monitoring.store_results(
            conn,
            [
                (sid, CheckResult("https://x.example/", True, 200, None, 90, now, tls=_tls(n, now)))
                for n, sid in enumerate(made)
                if n % 3
            ],
        )
    with db.session() as s:
        everything = fleet.fleet_page(s, fleet.FleetFilter(), now, per_page=500).rows
        expected = sorted(
            everything,
            key=lambda r: (
                _priority(r),
                r.down_since is None,
                r.down_since or now,
                r.name,
                r.site_id,
            ),
        )
        assert [r.site_id for r in everything] == [r.site_id for r in expected]
        assert len({_priority(r) for r in everything}) >= 5, "the fixture spans the groups"
        hacked = sorted(r.name for r in everything if r.state == "compromised")
        assert hacked == ["z02.example", "z07.example", "z12.example"]  # z11 is paused
        for per_page in (1, 2, 3, 5, 7):
            walked: list[int] = []
            for number in range(1, len(everything) // per_page + 2):
                page = fleet.fleet_page(s, fleet.FleetFilter(), now, page=number, per_page=per_page)
                assert page.total == len(everything)
                walked += [r.site_id for r in page.rows]
            assert walked == [r.site_id for r in expected], per_page


def _tls(n: int, now: datetime) -> TlsInfo:
    days = 5 if n % 5 == 1 else 60
    return TlsInfo(valid=True, expires=now + timedelta(days=days), days_left=days)
