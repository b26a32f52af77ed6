"""An S3-compatible repository: moto's server on loopback stands in for the object store."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sitekeeper.backup import repository
from sitekeeper.backup.drill import free_port
from sitekeeper.backup.repository import RepositoryConfig
from sitekeeper.backup.restore import restore_to
from sitekeeper.backup.runner import BackupContext, backup_site
from tests.backup.conftest import add_wp_site, tree_digest

KEY_ID, SECRET = "AKIASITEKEEPERTEST", "sitekeeper-test-secret-key"


@pytest.fixture
async def s3_endpoint() -> AsyncIterator[str]:
    """moto_server on a free loopback port; ready once it says it is running."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = await asyncio.create_subprocess_exec(
        str(moto),
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(60):
            while b"Running on" not in (line := await proc.stderr.readline()):
                assert line, "moto_server exited"
        drain = asyncio.ensure_future(proc.stderr.read())
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket="agency-backups")
        yield endpoint
        drain.cancel()
    finally:
        proc.terminate()
        await proc.wait()


async def test_backup_and_restore_through_s3(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], s3_endpoint: str, tmp_path: Path
) -> None:
    wp1 = real_wp_sites[0]
    config = RepositoryConfig(
        kind="s3",
        location=f"{s3_endpoint}/agency-backups/sitekeeper",
        s3_access_key_id=KEY_ID,
        s3_secret_access_key=SECRET,
        s3_region="us-east-1",
    )
    with bctx.db.session() as s:
        repository.configure(s, bctx.vault, config, client_id=None, now=bctx.clock())
    add_wp_site(bctx.db, bctx.vault, wp1)
    first = await backup_site(bctx, "wp1")
    assert first.ok, first.error
    second = await backup_site(bctx, "wp1")
    assert second.ok, second.error
    assert second.figures is not None
    assert first.figures is not None
    assert second.figures.bytes_added < first.figures.bytes_added / 20

    objects = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    ).list_objects_v2(Bucket="agency-backups", Prefix="sitekeeper/")
    keys = [o["Key"] for o in objects.get("Contents", [])]
    assert "sitekeeper/config" in keys
    assert any(k.startswith("sitekeeper/snapshots/") for k in keys)

    target = tmp_path / "from-s3"
    await restore_to(bctx, "wp1", target, first.figures.snapshot_id)
    assert tree_digest(target / "files") == tree_digest(Path(wp1["docroot"]))
    assert (target / "database.sql").stat().st_size == first.figures.database_bytes
    await bctx.restic(_repo(bctx)).check()
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") != SECRET  # never leaked into our env


def _repo(bctx: BackupContext) -> Any:
    from sqlalchemy import select

    from sitekeeper.store.tables import Site

    with bctx.db.session() as s:
        site = s.scalar(select(Site))
        assert site is not None
        return repository.for_site(s, bctx.vault, site, bctx.settings.home)
