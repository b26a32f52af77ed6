"""Dedicated real WordPress sites for update tests, put back exactly after each test.

Update tests change a site on purpose (a plugin moves, a core update upgrades the
database, a broken package fatals the front page), so they never use the shared
sites other tests read (wp1..wp3). ``wp4`` and ``wp5`` are theirs, and their tests run in
an xdist group of their own beside the other real-site tests (``tests/conftest.py``).
Before a test the site's docroot (owners, modes, times) and its database are copied
aside; afterwards both are put back, so a failed rollback in a test does not leak into
the next one.

Import the fixtures into a test module: ``from tests.updates.sites import wp4, wp5``.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.realsites import all_sites_up, wp_record


@pytest.fixture(scope="session")
def update_sites_up(tmp_path_factory: pytest.TempPathFactory) -> None:
    """wp1..wp5 up, with the other real sites."""
    all_sites_up(tmp_path_factory)


def _run(args: list[str], **kwargs: Any) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=300, **kwargs)


@contextlib.contextmanager
def put_back(site: dict[str, Any]) -> Iterator[None]:
    """Copy the site's docroot and database aside, and restore both afterwards."""
    docroot, db = Path(site["docroot"]), site["db"]["name"]
    with tempfile.TemporaryDirectory(prefix=f"sk-{site['name']}-") as scratch:
        files, dump = Path(scratch) / "files", Path(scratch) / "db.sql"
        _run(["cp", "-a", f"{docroot}/.", str(files)])
        with dump.open("wb") as out:
            subprocess.run(
                ["mysqldump", "--single-transaction", "--routines", "--add-drop-table", db],
                stdout=out,
                check=True,
                timeout=300,
            )
        try:
            yield
        finally:
            _run(["rsync", "-a", "--delete", f"{files}/", f"{docroot}/"])
            with dump.open("rb") as sql:
                subprocess.run(["mysql", db], stdin=sql, check=True, timeout=300)


@pytest.fixture
def wp4(update_sites_up: None) -> Iterator[dict[str, Any]]:
    """wp4, put back exactly as it was after the test."""
    site = wp_record(4)
    with put_back(site):
        yield site


@pytest.fixture
def wp5(update_sites_up: None) -> Iterator[dict[str, Any]]:
    """wp5, put back exactly as it was after the test."""
    site = wp_record(5)
    with put_back(site):
        yield site
