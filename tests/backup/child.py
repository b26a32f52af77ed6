"""Run one backup in a separate process (so a test can kill it): ``python -m tests.backup.child``.

Arguments: database URL, data directory, site. Progress lines go to stdout.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault


def main() -> None:
    url, home, site = sys.argv[1:4]
    ctx = BackupContext(
        db=Database(url, migrate=False),
        vault=Vault.from_home(Path(home)),
        settings=BackupSettings(home=Path(home)),
    )

    def say(name: str, what: str) -> None:
        print(f"{name}: {what}", flush=True)

    outcome = asyncio.run(backup_site(ctx, site, progress=say))
    print("ok" if outcome.ok else f"failed: {outcome.error}", flush=True)


if __name__ == "__main__":
    main()
