"""How long the scheduler's policy-update look-up takes at N sites on PostgreSQL.

Every planning round asks ``updates.policy.due_updates`` which sites' plans apply which
pending updates now. A fresh database (``bench_drain``, dropped afterwards) holds N sites
with SSH access on one plan with ``update_policy = minor``; one site in ``--pending`` has
the template site's pending updates (WordPress core with a security fix on its branch,
Akismet, a theme), cloned in the server. The first round queues the approvals the policy
leaves to a person; the later ones find them queued, as a scheduler does all day.

    .venv/bin/python bench/policy_schedule.py [--sites 100000] [--pending 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from datetime import UTC, datetime

from _common import command_line
from backup_drain import URL, drop_database, fresh_database
from cryptography.fernet import Fernet
from sqlalchemy import text

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.store import clients, contracts, inventories, plans, releases, sites
from sitekeeper.store.database import Database
from sitekeeper.updates.policy import due_updates
from sitekeeper.vault import Vault

NOW = datetime.now(UTC)


def seed(db: Database, count: int, pending: int) -> None:
    """One template site with pending updates, then ``count - 1`` more in the server; every
    ``pending``-th one gets the template's findings and software."""
    inventory = Inventory(
        cms="wordpress", version="6.1.9", collected_at=NOW,
        extensions=[Extension(type="plugin", slug="akismet", name="Akismet", version="5.0.2",
                              update_source="wordpress.org"),
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
            session, Vault(Fernet.generate_key()), name="agency client", now=NOW
        )
        plan = plans.add_plan(session, name="care", options={"update_policy": "minor"})
        contract = contracts.add_contract(
            session, client_id=client.id, plan_id=plan.id, start=NOW.date(), now=NOW
        )
        fields = sites.SiteFields(url="https://t.example/", name="t", client=client,
                                  contract=contract)  # fmt: skip
        template = sites.add_site(session, fields, NOW, default_interval=300)
        template.cms, template.cms_version = "wordpress", "6.1.9"
        template.ssh = {"host": "srv.example", "user": "www", "docroot": "/srv/www"}
        inventories.store_inventory(session, template, inventory)
        releases.store_packages(session, packages, NOW)
        rematch(session, NOW, site_ids=[template.id])
        session.flush()
        session.execute(
            text(
                "INSERT INTO sites (name, url, check_options, paused, created_at, backup_host,"
                " client_id, contract_id, cms, cms_version, ssh)"
                " SELECT 's' || n, 'https://s' || n || '.example/', '{}', true, now(),"
                " 'h' || n, client_id, contract_id, cms, cms_version, ssh"
                " FROM sites, generate_series(2, :count) AS n WHERE id = :template"
            ),
            {"count": count, "template": template.id},
        )
        for table in ("findings", "site_software"):
            columns = [
                c
                for c in session.scalars(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_name ="
                        " :t AND table_schema = current_schema() ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
                if c not in ("id", "site_id")
            ]
            listed = ", ".join(columns)
            cloned = ", ".join(f"t.{c}" for c in columns)
            session.execute(
                text(
                    f"INSERT INTO {table} (site_id, {listed}) SELECT s.id, {cloned}"
                    f" FROM {table} AS t, sites AS s WHERE t.site_id = :template"
                    " AND s.id <> :template AND s.id % :pending = 0"
                ),
                {"template": template.id, "pending": pending},
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=10, help="one site in N has updates")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(command_line())
    fresh_database()
    db = Database(URL)
    try:
        start = time.monotonic()
        seed(db, args.sites, args.pending)
        print(f"seeded {args.sites:,} sites in {time.monotonic() - start:.1f} s")
        took, due = [], 0
        for round_ in range(args.rounds + 1):
            start = time.monotonic()
            with db.session() as session:
                due = len(due_updates(session, NOW))
            took.append(time.monotonic() - start)
            print(f"round {round_}: {took[-1]:.2f} s, {due:,} sites due", flush=True)
        tracemalloc.start()
        with db.session() as session:
            due_updates(session, NOW)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(
            f"{args.sites:,} sites, 1 in {args.pending} with updates: first round "
            f"{took[0]:.2f} s (queues the approvals), later rounds median "
            f"{statistics.median(took[1:]):.2f} s, {due:,} sites due; "
            f"Python memory peak of one round {peak:.0f} MiB"
        )
    finally:
        db.dispose()
        drop_database()


if __name__ == "__main__":
    main()
