"""Inventory of a site whose CMS is not stored yet: found over SSH, not assumed WordPress.

Against the Joomla 5.3.2 (jm1) and Drupal 10.1.6 (dr1) fixture sites of
tests/realsites/realcms.sh, added by hand (no fingerprint, no CMS stored): the
``sitekeeper inventory`` command and serve's first scheduled inventory both read
the right core and extensions, and the CMS is stored.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sitekeeper.cli.main import app
from sitekeeper.config import Settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.store import clients, inventories, sites
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site
from sitekeeper.vault import Vault
from tests.realsites import real_cms_sites, stored_ssh
from tests.store.factories import VAULT

__all__ = ["real_cms_sites"]

pytestmark = pytest.mark.realsites

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# (type, slug) -> (name, version, active), as the fixture sites' manifests and tables say
EXTENSIONS = {
    "jm1": {
        ("component", "com_skshop"): ("COM_SKSHOP", "2.3.1", True),
        ("plugin", "plg_system_skcache"): ("plg_system_skcache", "1.0.4", False),
        ("template", "tpl_skdark"): ("skdark", "3.0.0", True),
        ("module", "mod_skhello"): ("mod_skhello", "0.9.0", True),
        ("module", "administrator/mod_skstats"): ("mod_skstats", "1.1.0", False),
        ("package", "pkg_skshop"): ("SK Shop Package", "2.3.1", True),
    },
    "dr1": {
        ("module", "pathauto"): ("Pathauto", "8.x-1.12", True),
        ("module", "token"): ("Token", "8.x-1.13", True),
        ("module", "sk_tweaks"): ("Sitekeeper tweaks", None, True),
        ("theme", "gin"): ("Gin", "8.x-3.0-rc9", True),
    },
}


def _add(db: Database, vault: Vault, real: list[dict[str, Any]]) -> dict[str, int]:
    """The fixture sites as a technician adds them: URL and SSH access, no CMS."""
    ids = {}
    with db.session() as session:
        owner = clients.add_client(session, vault, name="Other CMS", now=NOW)
        for record in real:
            site = sites.add_site(
                session,
                sites.SiteFields(
                    url=record["url"],
                    client=owner,
                    name=record["name"],
                    ssh=stored_ssh(session, vault, owner, record),
                ),
                NOW,
                default_interval=300,
            )
            assert site.cms is None
            ids[record["name"]] = site.id
    return ids


def _found(extensions: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {(e["type"], e["slug"]): (e["name"], e["version"], e["active"]) for e in extensions}


@pytest.mark.parametrize("which", [0, 1], ids=["jm1", "dr1"])
def test_cli_inventory_of_a_site_without_a_stored_cms(
    which: int,
    tmp_path: Path,
    real_cms_sites: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: 'inventory' read every such site as WordPress and failed with
    '/srv/sites/jm1 is not a WordPress install'."""
    home = tmp_path / "home"
    monkeypatch.setenv("SITEKEEPER_HOME", str(home))
    monkeypatch.delenv("SITEKEEPER_DATABASE_URL", raising=False)
    record = real_cms_sites[which]
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    _add(db, Vault.from_home(home), [record])  # the CLI decrypts the key with the home's
    db.dispose()

    result = CliRunner().invoke(app, ["inventory", record["name"], "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["cms"], data["version"], data["warnings"]) == (
        record["cms"],
        record["version"],
        [],
    )
    assert data["database"] and "MariaDB" in data["database"]
    assert _found(data["extensions"]) == EXTENSIONS[record["name"]]
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    with db.session() as session:
        site = session.scalars(select(Site).where(Site.name == record["name"])).one()
        assert (site.cms, site.cms_version) == (record["cms"], record["version"])
    db.dispose()


async def test_serves_first_scheduled_inventory_finds_each_cms(
    db: Database,
    tmp_path: Path,
    real_cms_sites: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 'intel-inventories' schedule of serve, run once for two sites nothing is known
    about yet: both inventories are right the first time (before: both failed until a
    fingerprint had stored the CMS)."""
    ids = _add(db, VAULT, real_cms_sites)
    settings = Settings(home=tmp_path / "home")
    jobs = IntelJobs(db, settings, feeds=FeedSettings(), vault=VAULT)
    [schedule] = [s for s in jobs.schedules() if s.name == "intel-inventories"]

    with caplog.at_level(logging.INFO, logger="sitekeeper"):
        await jobs.run_safely(schedule)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    with db.session() as session:
        for record in real_cms_sites:
            site = session.get(Site, ids[record["name"]])
            assert site is not None
            assert (site.cms, site.cms_version) == (record["cms"], record["version"])
            stored = inventories.latest_inventory(session, site.id)
            assert stored is not None
            found = {(e.type, e.slug): (e.name, e.version, e.active) for e in stored.extensions}
            assert found == EXTENSIONS[record["name"]]
    assert await jobs.inventories_due() == 0  # both done: nothing due until the next interval


async def test_a_site_rebuilt_on_another_cms_is_read_as_what_it_runs_now(
    db: Database, tmp_path: Path, real_cms_sites: list[dict[str, Any]]
) -> None:
    """A site stored as WordPress (its old fingerprint or inventory) whose server now runs
    Joomla: the inventory reads Joomla and the stored CMS follows (before: every inventory
    failed with '… is not a WordPress install', for good)."""
    jm1 = real_cms_sites[0]
    site_id = _add(db, VAULT, [jm1])["jm1"]
    with db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None
        site.cms = "wordpress"
    jobs = IntelJobs(db, Settings(home=tmp_path / "home"), feeds=FeedSettings(), vault=VAULT)

    _, inventory, _ = await jobs.inventory_site("jm1")

    assert (inventory.cms, inventory.version) == ("joomla", jm1["version"])
    with db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None and site.cms == "joomla"
