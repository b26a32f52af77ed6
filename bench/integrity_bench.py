"""Integrity scan of a real WordPress site over SSH: the first scan and rescans with nothing
changed (issue 12 §1's target: a rescan under 2 s and at most 3 SSH round trips).

The site is a realsites WordPress (``tests/realsites/wordpress.sh``; default wp2, read
only: nothing is written to it). It is registered in a scratch SQLite store with its
SSH key, inventoried, then scanned with ``IntelJobs.scan_site`` -- the code path of
``sitekeeper scan`` and of serve's daily scan: connect, the walk on the server, the
comparison with the core list, the fetch and YARA of unvouched code files, the filing.
The WordPress.org core checksums API is a loopback stand-in serving the site's own
core files' md5s (Debian's build is not byte-identical to the vendor's), so the
comparison does its full work. Needs root (the site's SSH key, its files' md5s).

    .venv/bin/python bench/integrity_bench.py [--site 2] [--rescans 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import command_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.realsites import stored_ssh, wp_record
from tests.updates.vendor import start_vendor

from sitekeeper.config import Settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault


def _checksums(root: Path) -> bytes:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        core = rel.startswith(("wp-admin/", "wp-includes/")) or "/" not in rel
        if core and path.is_file() and not path.is_symlink() and rel != "wp-config.php":
            found[rel] = hashlib.md5(path.read_bytes()).hexdigest()
    return json.dumps({"checksums": found}).encode()


async def _bench(site_no: int, rescans: int, home: Path) -> None:
    record = wp_record(site_no)
    version = (Path(record["docroot"]) / "wp-includes" / "version.php").read_text()
    wp_version = version.split("$wp_version = '", 1)[1].split("'", 1)[0]
    vendor, runner = await start_vendor()
    vendor.add(f"/core/checksums/{wp_version}", _checksums(Path(record["docroot"])))
    db = Database(f"sqlite:///{home / 'bench.db'}")
    vault = Vault.from_home(home)
    now = datetime.now(UTC)
    with db.session() as session:
        owner = clients.add_client(session, vault, name="Bench", now=now)
        ssh = stored_ssh(session, vault, owner, record)
        fields = sites.SiteFields(url=record["url"], client=owner, name=record["name"], ssh=ssh)
        sites.add_site(session, fields, now, default_interval=300)
    jobs = IntelJobs(
        db, Settings(home=home), feeds=FeedSettings(vendor=vendor.settings), vault=vault
    )
    try:
        await jobs.inventory_site(record["name"])
        for round_ in range(rescans + 1):
            start = time.perf_counter()
            report, _ = await jobs.scan_site(record["name"])
            took = time.perf_counter() - start
            what = "first scan" if round_ == 0 else f"rescan {round_}"
            above_info = sum(1 for i in report.issues if i.severity.rank > 0)
            print(
                f"{what}: {took:.2f} s, SSH commands {report.commands}, files {report.files}, "
                f"hashed {report.hashed} ({report.bytes_hashed / 1e6:.1f} MB), "
                f"vouched by the core list {report.verified}, YARA {report.yara_scanned}, "
                f"issues above info {above_info}"
            )
    finally:
        await runner.cleanup()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=int, default=2, help="realsites WordPress number")
    parser.add_argument("--rescans", type=int, default=5, help="rescans after the first")
    args = parser.parse_args()
    print("command:", command_line())
    with tempfile.TemporaryDirectory(prefix="bench-integrity-") as scratch:
        asyncio.run(_bench(args.site, args.rescans, Path(scratch)))


if __name__ == "__main__":
    main()
