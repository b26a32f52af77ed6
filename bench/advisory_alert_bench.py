"""Time from a new advisory's ingestion to every alert queued, for a fleet of 10,000 sites.

Setup (not timed): N sites of M clients, each with a stored synthetic inventory
(WordPress core + K plugins from a pool of popular slugs, so the index has
N x (K+1) rows), matched once so the findings are in a steady state.

Timed: ``IntelJobs.import_advisories(path)`` on a Wordfence-format file naming one
plugin that a fraction of the fleet runs at a vulnerable version — parse,
per-branch normalisation, store, indexed re-match of that one package, findings
opened with journal events, one message per affected client queued in the
outbox (one row per channel), committed. Target: under 60 s.

    .venv/bin/python bench/advisory_alert_bench.py [--sites 10000] [--clients 500]
        [--plugins 20] [--affected 1.0] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import command_line
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select

from sitekeeper.config import Settings
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding, InventoryRecord, SiteSoftware
from sitekeeper.store.tables import Client, Notification, Site
from sitekeeper.vault import Vault

POOL = [f"plugin-{i:03d}" for i in range(200)]
TARGET = "contact-form-x"  # the plugin the advisory names


def _setup(db: Database, vault: Vault, args: argparse.Namespace) -> None:
    rng = random.Random(42)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Client),
            [
                {
                    "name": f"client-{c:04d}",
                    "language": "en",
                    "alert_urls": [vault.encrypt(f"json://127.0.0.1:9/c{c}")],
                    "created_at": now,
                }
                for c in range(args.clients)
            ],
        )
        client_ids = [row[0] for row in conn.execute(select(Client.id).order_by(Client.id))]
        conn.execute(
            insert(Site),
            [
                {
                    "name": f"site-{s:05d}",
                    "url": f"https://site-{s:05d}.example/",
                    "client_id": client_ids[s % len(client_ids)],
                    "check_options": {},
                    "paused": False,
                    "cms": "wordpress",
                    "cms_version": "6.4.3",
                    "created_at": now,
                }
                for s in range(args.sites)
            ],
        )
        site_ids = [row[0] for row in conn.execute(select(Site.id).order_by(Site.id))]
        inventories, software = [], []
        for index, site_id in enumerate(site_ids):
            plugins = rng.sample(POOL, args.plugins - 1)
            if index < args.sites * args.affected:
                plugins.append(TARGET)
            versions = {p: f"{rng.randint(1, 5)}.{rng.randint(0, 9)}" for p in plugins}
            if TARGET in versions:
                versions[TARGET] = "2.1"  # vulnerable
            extensions = [
                {"type": "plugin", "slug": p, "name": p, "version": v, "active": True,
                 "update_source": "wordpress.org", "file": f"{p}/{p}.php"}
                for p, v in versions.items()
            ]  # fmt: skip
            inventories.append(
                {
                    "site_id": site_id,
                    "collected_at": now,
                    "cms": "wordpress",
                    "version": "6.4.3",
                    "data": {
                        "cms": "wordpress",
                        "version": "6.4.3",
                        "php": "8.2.7",
                        "database": "10.11.6-MariaDB",
                        "extensions": extensions,
                        "collected_at": now.isoformat(),
                        "warnings": [],
                    },
                }
            )
            software.append(_row(site_id, "core", "wordpress", "6.4.3"))
            software.extend(_row(site_id, "plugin", p, v) for p, v in versions.items())
        for start in range(0, len(inventories), 2000):
            conn.execute(insert(InventoryRecord), inventories[start : start + 2000])
        for start in range(0, len(software), 10000):
            conn.execute(insert(SiteSoftware), software[start : start + 10000])
    with db.session() as session:  # steady state: every site's findings already derived
        rematch(session, now)


def _row(site_id: int, type_: str, package: str, version: str) -> dict[str, Any]:
    return {
        "site_id": site_id, "ecosystem": "wordpress", "type": type_, "package": package,
        "name": package, "version": version, "candidates": [], "basis": "inventory",
        "update_source": "wordpress.org", "active": True,
    }  # fmt: skip


def _advisory(path: Path) -> None:
    record = {
        "BENCH-1": {
            "id": "BENCH-1",
            "title": f"{TARGET} <= 2.4 - Unauthenticated SQL Injection",
            "cve": "CVE-2099-9999",
            "software": [{
                "type": "plugin", "name": TARGET, "slug": TARGET,
                "affected_versions": {"* - 2.4": {"from_version": "*", "from_inclusive": True,
                                                  "to_version": "2.4", "to_inclusive": True}},
                "patched": True, "patched_versions": ["2.5"],
            }],
            "cvss": {"score": 9.8, "rating": "Critical"},
        }
    }  # fmt: skip
    path.write_text(json.dumps(record))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--plugins", type=int, default=20)
    parser.add_argument("--affected", type=float, default=1.0, help="share of sites hit")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        url = args.database_url or f"sqlite:///{home / 'bench.db'}"
        db = Database(url)
        vault = Vault(Fernet.generate_key())
        start = time.perf_counter()
        _setup(db, vault, args)
        setup_s = time.perf_counter() - start
        settings = Settings(home=home, alert_urls=["json://127.0.0.1:9/global"])
        jobs = IntelJobs(db, settings, vault=vault)
        advisory = home / "advisory.json"
        _advisory(advisory)
        start = time.perf_counter()
        report = asyncio.run(jobs.import_advisories(str(advisory)))
        elapsed = time.perf_counter() - start
        with db.session() as session:
            queued = session.scalar(select(func.count()).select_from(Notification)) or 0
            vulns = session.scalar(
                select(func.count()).select_from(Finding).where(Finding.kind == "vulnerability")
            )
        db.dispose()
    print(f"command: {command_line()}")
    print(f"database: {url.split(':', 1)[0]}  sites: {args.sites}  clients: {args.clients}  "
          f"plugins/site: {args.plugins}  setup: {setup_s:.1f} s")  # fmt: skip
    print(f"affected sites: {vulns}  findings opened: {report.opened}  "
          f"client messages: {report.alerts}  outbox rows: {queued}")  # fmt: skip
    print(f"ingestion -> all alerts queued: {elapsed:.2f} s (target < 60 s)")
    if elapsed >= 60:
        sys.exit(1)


if __name__ == "__main__":
    main()
