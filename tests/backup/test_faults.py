"""Nothing lost: killed runs, dropped SSH, a killed restic and a full repository disk.

Each fault test takes a good snapshot first, injects the fault during the
next backup, and then proves: the earlier snapshot is intact (``restic
check`` passes and it restores byte-identical), no stale lock blocks the next
run, the failure is in the journal, and the next run succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
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
from sqlalchemy import delete, select

from sitekeeper.backup import repository
from sitekeeper.backup.recovery import recover
from sitekeeper.backup.repository import OpenRepository, RepositoryConfig
from sitekeeper.backup.restore import restore_to
from sitekeeper.backup.runner import BackupContext, backup_site, site_lock
from sitekeeper.config import Settings
from sitekeeper.engine.service import Service
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.lease_tables import Lease
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
    assert [r.status for r in runs] == ["ok", "interrupted", "ok"]
    assert "interrupted" in (runs[1].error or "")
    assert len(_events(bctx, "backup.interrupted")) == 1
    assert _events(bctx, "backup.failed") == []
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


def _leases(ctx: BackupContext) -> dict[str, str]:
    with ctx.db.session() as s:
        return {lease.name: lease.holder for lease in s.scalars(select(Lease))}


async def _kill_child_while_restic_runs(ctx: BackupContext, site: str, worker: str) -> None:
    """A scheduled backup of ``worker``'s serve, SIGKILLed (with its restic) mid-store."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.backup.child",
        ctx.db.url,
        str(ctx.settings.home),
        site,
        worker,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
        cwd=Path(__file__).parents[2],
    )
    assert child.stdout is not None
    # restic reports progress only once it holds its lock and is reading the files.
    while b"storing" not in (line := await asyncio.wait_for(child.stdout.readline(), 300)) or (
        b"%" not in line
    ):
        assert line, "the backup ended before restic got to work"
    others = [pid for pid in _process_group(child.pid) if pid != child.pid]
    assert others, "restic runs in the child's process group"
    # The orphaned restic comes to us to be reaped, so we know when it is really gone
    # (a zombie still "exists" for restic's own stale-lock check).
    _subreaper(True)
    try:
        os.killpg(child.pid, signal.SIGKILL)  # python, restic and all: nothing cleans up
        await child.wait()
        for pid in others:
            with contextlib.suppress(ChildProcessError):
                await asyncio.to_thread(os.waitpid, pid, 0)
    finally:
        _subreaper(False)


def _process_group(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.isdigit() and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def _subreaper(on: bool) -> None:
    """Become (or stop being) the reaper of orphaned descendants (prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, int(on), 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


async def test_serve_start_recovers_what_a_killed_backup_left(
    bctx: BackupContext, wp2_guard: dict[str, Any], tmp_path: Path
) -> None:
    site = wp2_guard
    site_id = add_wp_site(bctx.db, bctx.vault, site)
    first = await backup_site(bctx, "wp2")
    assert first.ok, first.error
    assert first.figures is not None
    bulk = Path(site["docroot"]) / "sk-test-bulk"  # enough for restic to be caught at work
    bulk.mkdir()
    for i in range(8):
        (bulk / f"upload{i}.bin").write_bytes(os.urandom(16 * MB))
    repo = _repository(bctx, "wp2")
    locks = Path(repo.location) / "locks"

    await _kill_child_while_restic_runs(bctx, "wp2", "crash-worker")

    run = _runs(bctx)[-1]
    assert run.status == "running"
    assert list(locks.iterdir()), "the killed restic's lock stays"
    assert _leases(bctx) == {f"backup:{site_id}": "crash-worker", f"run:{run.id}": "crash-worker"}

    # Another worker's live run and a run of this host's CLI backup are not ours to touch.
    with bctx.db.session() as s:
        elsewhere = s.get(BackupRun, run.id)
        assert elsewhere is not None
        other = BackupRun(
            site_id=site_id, reason="manual", status="running", started_at=elsewhere.started_at
        )
        s.add(other)
        s.flush()
        other_id = other.id
        s.add(
            Lease(
                name=f"run:{other_id}",
                holder="other-worker",
                expires_at=bctx.clock() + timedelta(hours=1),
            )
        )

    settings = Settings(
        home=bctx.settings.home, database_url=bctx.db.url, worker_name="crash-worker"
    )
    service = Service(settings, bctx.db, software_intel=False, backups=True)
    stop = asyncio.Event()
    stop.set()  # start, recover, stop: the recovery is what serve does before anything else
    await service.run(stop)

    statuses = {r.id: r.status for r in _runs(bctx)}
    assert statuses[run.id] == "interrupted"
    assert statuses[other_id] == "running"
    interrupted = _events(bctx, "backup.interrupted")
    assert [e.data["run"] for e in interrupted] == [run.id]
    assert not list(locks.iterdir()), "restic unlock removed the dead process's lock"
    assert _leases(bctx) == {f"run:{other_id}": "other-worker"}
    with bctx.db.session() as s:
        s.execute(delete(BackupRun).where(BackupRun.id == other_id))

    shutil.rmtree(bulk)
    again = await backup_site(bctx, "wp2")
    assert again.ok, again.error
    await _intact(bctx, "wp2", first.figures.snapshot_id, tmp_path / "wp2-pristine", tmp_path)


async def test_a_live_backup_on_this_host_is_left_alone(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]]
) -> None:
    """A ``sitekeeper backup`` running from the CLI (same worker name) holds the staging lock."""
    site_id = add_wp_site(bctx.db, bctx.vault, real_wp_sites[0])
    with bctx.db.session() as s:
        s.add(
            BackupRun(site_id=site_id, reason="manual", status="running", started_at=bctx.clock())
        )
    async with site_lock(bctx.settings.site_dir(site_id)):
        found = await recover(bctx)
    assert found.runs == []
    assert [r.status for r in _runs(bctx)] == ["running"]
    found = await recover(bctx)  # once it is gone, it was interrupted
    assert len(found.runs) == 1
    assert [r.status for r in _runs(bctx)] == ["interrupted"]
