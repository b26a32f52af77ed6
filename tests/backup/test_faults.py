"""Nothing lost: killed runs, dropped SSH, a killed restic and a full repository disk.

Each fault test takes a good snapshot first, injects the fault during the
next backup, and then proves: the earlier snapshot is intact (``restic
check`` passes and it restores byte-identical), no stale lock blocks the next
run, the failure is in the journal, and the next run succeeds.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup import repository
from sitekeeper.backup.repository import OpenRepository, RepositoryConfig
from sitekeeper.backup.restore import restore_to
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.tables import Event, Notification, Site
from tests.backup.conftest import add_wp_site, tree_digest
from tests.backup.proxy import Relay

MB = 1024 * 1024


@pytest.fixture
async def relay(real_wp_sites: list[dict[str, Any]]) -> AsyncIterator[Relay]:
    relay = Relay(real_wp_sites[0]["ssh"]["port"])
    await relay.start()
    yield relay
    await relay.close()


def _repository(ctx: BackupContext, site: str) -> OpenRepository:
    with ctx.db.session() as s:
        row = s.scalar(select(Site).where(Site.name == site))
        assert row is not None
        return repository.for_site(s, ctx.vault, row, ctx.settings.home)


async def _intact(ctx: BackupContext, site: str, snapshot: str, expected: Path, tmp: Path) -> None:
    """restic check passes and the earlier snapshot restores byte-identical."""
    await ctx.restic(_repository(ctx, site)).check(read_data=True)
    target = tmp / f"check-{snapshot[:8]}-{os.urandom(2).hex()}"
    await restore_to(ctx, site, target, snapshot)
    assert tree_digest(target / "files") == tree_digest(expected)


def _runs(ctx: BackupContext) -> list[BackupRun]:
    with ctx.db.session() as s:
        return list(s.scalars(select(BackupRun).order_by(BackupRun.id)))


def _events(ctx: BackupContext, kind: str) -> list[Event]:
    with ctx.db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind)))


async def test_killed_mid_transfer(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], relay: Relay, tmp_path: Path
) -> None:
    wp1 = real_wp_sites[0]
    site_id = add_wp_site(bctx.db, bctx.vault, wp1, name="wp1-relay", port=relay.port)
    first = await backup_site(bctx, "wp1-relay")
    assert first.ok, first.error
    assert first.figures is not None
    shutil.rmtree(bctx.settings.site_dir(site_id) / "files")  # the next run re-transfers all

    relay.arm(mark=8 * MB)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.backup.child",
        bctx.db.url,
        str(bctx.settings.home),
        "wp1-relay",
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
        cwd=Path(__file__).parents[2],
    )
    await asyncio.wait_for(relay.passed.wait(), 120)
    os.killpg(child.pid, signal.SIGKILL)  # the whole process group: python, rsync, ssh
    await child.wait()
    out = (await child.stdout.read()).decode() if child.stdout else ""
    assert "transferring files" in out
    assert "ok" not in out.splitlines()
    assert _runs(bctx)[-1].status == "running"  # it died without a word

    again = await backup_site(bctx, "wp1-relay")
    assert again.ok, again.error
    runs = _runs(bctx)
    assert [r.status for r in runs] == ["ok", "failed", "ok"]
    assert "interrupted" in (runs[1].error or "")
    assert len(_events(bctx, "backup.failed")) == 1
    await _intact(bctx, "wp1-relay", first.figures.snapshot_id, Path(wp1["docroot"]), tmp_path)


async def test_ssh_connection_dropped(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], relay: Relay, tmp_path: Path
) -> None:
    wp1 = real_wp_sites[0]
    site_id = add_wp_site(bctx.db, bctx.vault, wp1, name="wp1-relay", port=relay.port)
    first = await backup_site(bctx, "wp1-relay")
    assert first.ok, first.error
    assert first.figures is not None
    shutil.rmtree(bctx.settings.site_dir(site_id) / "files")

    relay.arm(cut_after=8 * MB)
    dropped = await backup_site(bctx, "wp1-relay")
    assert not dropped.ok
    assert "file transfer failed" in (dropped.error or "")
    failed = _events(bctx, "backup.failed")
    assert len(failed) == 1
    assert "file transfer failed" in failed[0].data["error"]
    with bctx.db.session() as s:  # the alert is queued with the event
        alerts = list(s.scalars(select(Notification)))
    assert [a.event_id for a in alerts] == [failed[0].id]
    assert "wp1-relay" in alerts[0].title

    relay.arm()
    again = await backup_site(bctx, "wp1-relay")
    assert again.ok, again.error
    assert [r.status for r in _runs(bctx)] == ["ok", "failed", "ok"]
    await _intact(bctx, "wp1-relay", first.figures.snapshot_id, Path(wp1["docroot"]), tmp_path)


async def _kill_when(argv: list[str], env: dict[str, str], ready: Callable[[bytes], bool]) -> None:
    """Start a restic command and SIGKILL it as soon as one of its output lines says so."""
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    while line := await asyncio.wait_for(proc.stdout.readline(), 60):
        if ready(line):
            break
    proc.kill()
    await proc.wait()


async def test_killed_restic_leaves_stale_locks_that_never_block_the_next_run(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    wp1 = real_wp_sites[0]
    add_wp_site(bctx.db, bctx.vault, wp1, plan_options={"backup": "daily", "keep_daily": 7})
    day = datetime.now(UTC) - timedelta(days=3)  # one snapshot per day: retention keeps all
    first = await backup_site(bctx, "wp1", snapshot_time=day)
    assert first.ok, first.error
    assert first.figures is not None
    repo = _repository(bctx, "wp1")
    locks = Path(repo.location) / "locks"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RESTIC_REPOSITORY": repo.location,
        "RESTIC_PASSWORD": repo.password,
        "RESTIC_PROGRESS_FPS": "50",
    }
    big = tmp_path / "big"
    big.mkdir()
    for i in range(8):
        (big / f"blob{i}").write_bytes(os.urandom(16 * MB))

    # 1. A backup killed while writing data: its (shared) lock stays behind.
    def writing(line: bytes) -> bool:
        status = json.loads(line)
        return status.get("message_type") == "status" and status.get("bytes_done", 0) > 0

    await _kill_when(["restic", "backup", "--json", "--host", "x", str(big)], env, writing)
    assert list(locks.iterdir()), "a SIGKILLed restic leaves its lock behind"
    again = await backup_site(bctx, "wp1", snapshot_time=day + timedelta(days=1))
    assert again.ok, again.error
    assert not list(locks.iterdir())

    # 2. A check killed mid-way leaves an *exclusive* lock, which refuses backups.
    done = await asyncio.create_subprocess_exec(
        "restic", "backup", "--host", "x", str(big), env=env, stdout=asyncio.subprocess.DEVNULL
    )
    assert await done.wait() == 0
    await _kill_when(["restic", "check", "--read-data"], env, lambda ln: b"read all data" in ln)
    assert list(locks.iterdir())
    third = await backup_site(bctx, "wp1", snapshot_time=day + timedelta(days=2))
    assert third.ok, third.error
    assert [r.status for r in _runs(bctx)] == ["ok", "ok", "ok"]
    await _intact(bctx, "wp1", first.figures.snapshot_id, Path(wp1["docroot"]), tmp_path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs for the repository: room for one site, not for much more."""
    mount = tmp_path / "repodisk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


async def test_repository_disk_full(
    bctx: BackupContext, wp2_guard: dict[str, Any], small_disk: Path, tmp_path: Path
) -> None:
    site = wp2_guard
    docroot = Path(site["docroot"])
    pristine = tmp_path / "wp2-pristine"
    with bctx.db.session() as s:
        repository.configure(
            s,
            bctx.vault,
            RepositoryConfig(kind="local", location=str(small_disk / "repo")),
            client_id=None,
            now=bctx.clock(),
        )
    add_wp_site(bctx.db, bctx.vault, site)
    first = await backup_site(bctx, "wp2")
    assert first.ok, first.error
    assert first.figures is not None

    bulk = docroot / "sk-test-bulk"
    bulk.mkdir()
    for i in range(6):
        (bulk / f"upload{i}.bin").write_bytes(os.urandom(8 * MB))  # incompressible
    shutil.chown(bulk, "wp2", "wp2")
    for blob in bulk.iterdir():
        shutil.chown(blob, "wp2", "wp2")
    full = await backup_site(bctx, "wp2")
    assert not full.ok
    assert "disk is full" in (full.error or "")
    assert "disk is full" in _events(bctx, "backup.failed")[0].data["error"]

    shutil.rmtree(bulk)
    # The operator adds space; the next run must need nothing else.
    grown = await asyncio.create_subprocess_exec(
        "mount", "-o", "remount,size=160m", str(small_disk)
    )
    assert await grown.wait() == 0
    again = await backup_site(bctx, "wp2")
    assert again.ok, again.error
    await _intact(bctx, "wp2", first.figures.snapshot_id, pristine, tmp_path)
