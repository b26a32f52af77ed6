"""Run one backup in a separate process (so a test can kill it): ``python -m tests.backup.child``.

Arguments: database URL, data directory, site, and optionally a worker name: with one,
the backup runs as the scheduled loop of that worker's ``serve`` runs it (holding the
site's lease). Progress lines go to stdout.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BACKUP_LEASE, BackupContext, BackupOutcome, backup_site
from sitekeeper.store.database import Database
from sitekeeper.store.sites import get_site
from sitekeeper.vault import Vault


def main() -> None:
    url, home, site = sys.argv[1:4]
    worker = sys.argv[4] if len(sys.argv) > 4 else None
    ctx = BackupContext(
        db=Database(url, migrate=False),
        vault=Vault.from_home(Path(home)),
        settings=BackupSettings(home=Path(home)),
    )
    if worker is not None:
        ctx.worker = worker

    def say(name: str, what: str) -> None:
        print(f"{name}: {what}", flush=True)

    async def scheduled() -> BackupOutcome:
        with ctx.db.session() as session:
            site_id = get_site(session, site).id
        async with ctx.leases.hold(f"backup:{site_id}", BACKUP_LEASE) as held:
            assert held
            return await backup_site(ctx, site, reason="scheduled", progress=say)

    if worker is None:
        outcome = asyncio.run(backup_site(ctx, site, progress=say))
    else:
        outcome = asyncio.run(scheduled())
    print("ok" if outcome.ok else f"failed: {outcome.error}", flush=True)


if __name__ == "__main__":
    main()
