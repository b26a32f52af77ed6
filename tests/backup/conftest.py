"""Backup fixtures: a store with the real sites as records, helpers to look at restic and wp2.

Sites: ``wp1`` (read-only: other tests assert its content) and ``wp2`` (tests
that change a site use it and put it back). Every test gets its own data
directory, so its own mirrors and its own local restic repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext
from sitekeeper.store import clients, contracts, plans, sites
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client
from sitekeeper.vault import Vault
from tests.realsites import real_wp_sites, stored_ssh

__all__ = ["real_wp_sites"]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add_wp_site(
    db: Database,
    vault: Vault,
    site: dict[str, Any],
    *,
    name: str | None = None,
    port: int | None = None,
    plan_options: dict[str, Any] | None = None,
    client_name: str = "Realsites",
) -> int:
    """Store a real site as sitekeeper would (client, optional plan/contract, SSH access)."""
    with db.session() as session:
        client = session.scalar(select(Client).where(Client.name == client_name))
        if client is None:
            client = clients.add_client(session, vault, name=client_name, language="en", now=NOW)
        contract = None
        if plan_options is not None:
            plan = plans.add_plan(
                session, name=f"plan-{name or site['name']}", options=plan_options, now=NOW
            )
            contract = contracts.add_contract(
                session, client_id=client.id, plan_id=plan.id, start=NOW.date(), now=NOW
            )
        fields = sites.SiteFields(
            url=site["url"],
            name=name or site["name"],
            client=client,
            contract=contract,
            ssh=stored_ssh(session, vault, client, site, port),
            allow_duplicate=True,  # tests store one real site under several names
        )
        return sites.add_site(session, fields, NOW, default_interval=300).id


@pytest.fixture
def data_home(tmp_path: Path) -> Path:
    """The data directory of one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def bctx(sqlite_db: Database, data_home: Path) -> BackupContext:
    """A BackupContext on a fresh SQLite store and data directory."""
    return BackupContext(
        db=sqlite_db,
        vault=Vault.from_home(data_home),
        settings=BackupSettings(home=data_home),
        alert_urls=["json://127.0.0.1:9/alerts"],
    )


@pytest.fixture
def wp_sites(real_wp_sites: list[dict[str, Any]], bctx: BackupContext) -> dict[str, dict[str, Any]]:
    """wp1 and wp2 as site records of the store (ids in ``["id"]``)."""
    out = {}
    for site in real_wp_sites[:2]:
        site_id = add_wp_site(bctx.db, bctx.vault, site)
        out[site["name"]] = {**site, "id": site_id}
    return out


def tree_digest(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root``: kind, mode, mtime (s), size and SHA-256 or link target."""
    found: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [
            d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip
        ]
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = path.lstat()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir", st.st_mode & 0o7777)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = ("file", st.st_mode & 0o7777, int(st.st_mtime), st.st_size, digest)
    return found


def mysql_as(site: dict[str, Any], sql: str, database: str | None = None) -> str:
    """Run SQL as the site's own DB user (what the site itself can do), tab-separated out."""
    db = site["db"]
    proc = subprocess.run(
        [
            "mysql",
            f"-h{db['host']}",
            f"-P{db['port']}",
            f"-u{db['user']}",
            "--batch",
            "--skip-column-names",
            database or db["name"],
            "-e",
            sql,
        ],
        env={**os.environ, "MYSQL_PWD": db["password"]},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def table_checksums(site: dict[str, Any], database: str | None = None) -> dict[str, str]:
    """CHECKSUM TABLE of every table: equal checksums mean equal content."""
    tables = mysql_as(site, "SHOW TABLES", database).split()
    out = mysql_as(site, "CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables), database)
    return {line.split("\t")[0].split(".", 1)[1]: line.split("\t")[1] for line in out.splitlines()}


@pytest.fixture
def scratch_db() -> Iterator[str]:
    """An empty database on the local MariaDB (root), dropped afterwards."""
    name = f"sk_test_{os.getpid()}_{os.urandom(3).hex()}"
    subprocess.run(
        ["mysql", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{name}`"], check=True
    )
    yield name
    subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE `{name}`"], check=True)


def load_dump(dump: Path, database: str) -> None:
    """Import a dump into a local database as root."""
    with dump.open("rb") as feed:
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", database], stdin=feed, check=True)


def root_checksums(database: str) -> dict[str, str]:
    """CHECKSUM TABLE of every table of a local database, as root."""

    def q(sql: str) -> str:
        return subprocess.run(
            [
                "mysql",
                "-h127.0.0.1",
                "-uroot",
                "--batch",
                "--skip-column-names",
                database,
                "-e",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    tables = q("SHOW TABLES").split()
    out = q("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))
    return {line.split("\t")[0].split(".", 1)[1]: line.split("\t")[1] for line in out.splitlines()}


def rmtree_as_root(path: Path) -> None:
    """Remove a test folder put into a docroot."""
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def wp2_guard(real_wp_sites: list[dict[str, Any]], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """wp2, put back exactly as it was after the test (files and database), whatever happens.

    The copy is taken with cp/mysqldump as root -- independent of the code
    under test, so a bug in restore cannot leave wp2 changed.
    """
    site = real_wp_sites[1]
    assert site["name"] == "wp2"
    docroot = Path(site["docroot"])
    pristine = tmp_path / "wp2-pristine"
    subprocess.run(["cp", "-a", f"{docroot}/.", str(pristine)], check=True)
    dump = tmp_path / "wp2-pristine.sql"
    with dump.open("wb") as out:
        subprocess.run(
            ["mysqldump", "-h127.0.0.1", "-uroot", "--single-transaction", site["db"]["name"]],
            stdout=out,
            check=True,
        )
    before_db = table_checksums(site)
    yield site
    if tree_digest(docroot) != tree_digest(pristine):
        subprocess.run(["rsync", "-a", "--delete", f"{pristine}/", f"{docroot}/"], check=True)
    if table_checksums(site) != before_db:
        load_dump(dump, site["db"]["name"])
