"""Safe updates across ten real WordPress sites (not a test; prints figures).

    .venv/bin/python bench/update_fleet_bench.py [--sites 10] [--concurrency 4] [--broken 1]

Needs root, ``tests/realsites/wordpress.sh`` (it runs ``up N``) and the real packages
(``bash ../shared/packages/wordpress-debian.sh /var/cache/sitekeeper-test-packages``).
Every site is copied aside first (docroot and database) and put back at the end.

Each site runs Debian's WordPress 6.1.9 with Akismet 5.0.2. A loopback vendor serves the
packages; the sites are stored under a plan whose update policy is ``security``, with
their real inventories. Then "the release appears": Akismet's newer release is stored in
the catalogue as fixing 5.0.2 (what a feed poll stores), and the policy job that ``serve``
runs every 5 minutes (``updates.policy.run_due_updates``) is called at once, so the
figure is the update work itself; in ``serve`` the feed poll and the policy check add up
to two 5-minute intervals in the worst case. Two rounds:

1. every site healthy: time from the release to the last site patched and checked,
   per-site run time p50/p95, the share spent on the safety snapshot (first snapshot of
   each site: a full backup into a new repository);
2. the same fleet put back, with ``--broken`` sites whose front page fatals once Akismet
   is at the new version (a must-use plugin, as an incompatible theme would): those roll
   back, the others finish. Their snapshots are now incremental.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import command_line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers: sites, loopback vendor, breakage

from tests.backup.conftest import add_wp_site  # noqa: E402
from tests.realsites import SCRIPT_CANDIDATES, run_script, wp_record  # noqa: E402
from tests.updates import breakage  # noqa: E402
from tests.updates.sites import put_back  # noqa: E402
from tests.updates.vendor import start_vendor, versions  # noqa: E402

from sitekeeper.backup.options import BackupSettings  # noqa: E402
from sitekeeper.backup.runner import BackupContext  # noqa: E402
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS  # noqa: E402
from sitekeeper.config import Settings  # noqa: E402
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo  # noqa: E402
from sitekeeper.engine.intel_ingest import rematch  # noqa: E402
from sitekeeper.engine.intel_jobs import IntelJobs  # noqa: E402
from sitekeeper.intel.fetch import FeedSettings  # noqa: E402
from sitekeeper.store import releases  # noqa: E402
from sitekeeper.store.database import Database  # noqa: E402
from sitekeeper.updates.context import UpdateContext  # noqa: E402
from sitekeeper.updates.packages import PackageCache  # noqa: E402
from sitekeeper.updates.policy import run_due_updates  # noqa: E402
from sitekeeper.updates.run import RunOutcome  # noqa: E402
from sitekeeper.vault import Vault  # noqa: E402

# Fatals on the front page once Akismet reports the release the bench updates to.
INCOMPATIBLE = (
    "<?php\nadd_action('template_redirect', function () {\n"
    "    if (defined('AKISMET_VERSION') && AKISMET_VERSION === '%s') {\n"
    "        sk_incompatible_with_this_akismet();\n    }\n});\n"
)


async def one_round(
    sites: list[dict[str, Any]], concurrency: int, broken: int, label: str
) -> dict[str, Any]:
    target = versions()["akismet"]
    for site in sites[:broken]:
        code = INCOMPATIBLE % target
        breakage.write_as_site(site, "wp-content/mu-plugins/sk-incompatible.php", code)
        breakage.activate(site, "akismet/akismet.php")
    vendor, runner = await start_vendor()
    with tempfile.TemporaryDirectory(prefix="bench-update-") as scratch:
        home = Path(scratch)
        db = Database(f"sqlite:///{home / 'bench.db'}")
        vault = Vault.from_home(home)
        backup = BackupContext(db=db, vault=vault, settings=BackupSettings(home=home))
        jobs = IntelJobs(db, Settings(home=home), vault=vault)
        for site in sites:
            site_id = add_wp_site(db, vault, site, plan_options={"update_policy": "security"})
            await jobs.inventory_site(str(site_id))
        ctx = UpdateContext(
            backup=backup,
            vendor=vendor.settings,
            feeds=FeedSettings(vendor=vendor.settings),
            cache=PackageCache(home / "packages"),
            reinventory=lambda i: jobs.inventory_site(str(i)),
        )
        package = PackageInfo(
            WORDPRESS, "plugin", "akismet", latest=target, source="wordpress.org",
            releases=(ReleaseInfo("5.0.2", insecure=True), ReleaseInfo(target)),
        )  # fmt: skip
        async with ctx:
            released = time.monotonic()
            with db.session() as session:  # the release appears (a feed poll stores it)
                releases.store_packages(session, [package], datetime.now(UTC))
                rematch(session, datetime.now(UTC))
            outcomes = await run_due_updates(ctx, concurrency=concurrency)
            total = time.monotonic() - released
        db.engine.dispose()
    await runner.cleanup()
    return figures(label, outcomes, total)


def figures(label: str, outcomes: list[RunOutcome], total: float) -> dict[str, Any]:
    runs = sorted(o.seconds for o in outcomes)
    snapshot = sum(s.seconds for o in outcomes for s in o.steps if s.name == "snapshot")
    quantile = statistics.quantiles(runs, n=20) if len(runs) > 1 else runs * 19
    return {
        "round": label,
        "sites": len(outcomes),
        "outcomes": {
            k: sum(1 for o in outcomes if o.status == k) for k in {o.status for o in outcomes}
        },
        "release_to_last_patched_s": round(total, 1),
        "per_site_p50_s": round(statistics.median(runs), 1),
        "per_site_p95_s": round(quantile[18], 1),
        "snapshot_share": round(snapshot / sum(runs), 2) if runs else None,
        "not_applied": [
            {"site": o.site, "status": o.status, "reason": o.reason}
            for o in outcomes
            if o.status != "applied"
        ],
    }


async def main(args: argparse.Namespace) -> None:
    run_script(SCRIPT_CANDIDATES, "the bench needs root", "up", str(args.sites))
    sites = [wp_record(n) for n in range(1, args.sites + 1)]
    print("command:", command_line())
    for broken, label in ((0, "all healthy"), (args.broken, f"{args.broken} incompatible")):
        with contextlib.ExitStack() as stack:
            for site in sites:
                stack.enter_context(put_back(site))
            result = await one_round(sites, args.concurrency, broken, label)
        print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--broken", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
