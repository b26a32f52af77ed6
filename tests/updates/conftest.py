"""Fixtures every update test module shares: a backup context of its own (store, data
directory, local restic repository) and a loopback vendor server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault
from tests.updates.vendor import Vendor, start_vendor


@pytest.fixture
def bctx(sqlite_db: Database, tmp_path: Path) -> BackupContext:
    """A store and data directory of its own; alerts go to a channel nobody listens on."""
    home = tmp_path / "home"
    home.mkdir()
    return BackupContext(
        db=sqlite_db,
        vault=Vault.from_home(home),
        settings=BackupSettings(home=home),
        alert_urls=["json://127.0.0.1:9/alerts"],
    )


@pytest.fixture
async def server() -> AsyncIterator[Vendor]:
    """A loopback vendor: package archives, update XML, release histories."""
    served, runner = await start_vendor()
    try:
        yield served
    finally:
        await runner.cleanup()
