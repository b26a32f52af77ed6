"""Mixed versions: a process older than the database's schema refuses to start, and of
several processes migrating at once one migrates (PostgreSQL's advisory lock)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from sitekeeper.errors import StoreError
from sitekeeper.store.database import Database, current_revisions, head_revisions
from tests.conftest import PG_URL
from tests.services import need

ROOT = Path(__file__).parents[2]


def _cli(home: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SITEKEEPER_HOME": str(home), "SITEKEEPER_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "sitekeeper", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_code_older_than_the_database_schema_refuses_to_start(db: Database, tmp_path: Path) -> None:
    with db.engine.begin() as conn:  # a newer sitekeeper migrated it on another host
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="this worker is older than the database schema"):
        Database(db.url)
    proc = _cli(tmp_path / "home", db.url, "serve", "--web-port", "0")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "this worker is older than the database schema" in err
    assert "revision 9999" in err and "install the same sitekeeper version" in err
    with db.engine.connect() as conn:  # nothing was changed
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "9999"


def test_of_processes_migrating_at_once_one_migrates(tmp_path: Path) -> None:
    need("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        procs = [_cli(tmp_path / f"home{i}", url, "migrate") for i in range(3)]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        assert [r[0] for r in results] == [0, 0, 0], results
        db = Database(url, migrate=False)
        try:
            assert current_revisions(db.engine) == head_revisions()
            with db.engine.connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
        finally:
            db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
