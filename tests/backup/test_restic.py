"""The restic driver against real restic on a local repository (no sites needed)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.repository import OpenRepository
from sitekeeper.backup.restic import Restic, classify, parse_time
from tests.backup.conftest import tree_digest


@pytest.fixture
def restic(tmp_path: Path) -> Restic:
    repo = OpenRepository(id=None, location=str(tmp_path / "repo"), password="pw-" + "x" * 20)
    return Restic(repo, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T12:00:00.123456789Z", datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-01T13:00:00+01:00", datetime(2026, 3, 1, 12, 0, tzinfo=UTC)),
        ("2026-03-01T12:00:00.5-02:00", datetime(2026, 3, 1, 14, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("stderr", "reason", "permanent"),
    [
        ("Fatal: unable to save snapshot: write x: no space left on device", "disk is full", False),
        (
            "Fatal: unable to create lock in backend: repository is already locked by PID 7",
            "locked",
            False,
        ),
        ("Fatal: wrong password or no key found", "password is wrong", True),
        ("Is there a repository at the following location?", "no restic repository", True),
        ("something else", "restic failed", False),
    ],
)
def test_classify(stderr: str, reason: str, permanent: bool) -> None:
    got_reason, got_permanent = classify(stderr)
    assert reason in got_reason
    assert got_permanent is permanent


def _tree(root: Path) -> None:
    (root / "files/sub").mkdir(parents=True)
    (root / "files/sub/a.php").write_text("<?php echo 1;")
    (root / "files/secret.php").write_text("pw")
    (root / "files/secret.php").chmod(0o640)
    (root / "files/run.sh").write_text("#!/bin/sh")
    (root / "files/run.sh").chmod(0o755)
    (root / "files/link").symlink_to("sub/a.php")
    (root / "files/dangling").symlink_to("/nowhere")
    os.utime(root / "files/sub/a.php", (1_000_000_000, 1_000_000_000))
    (root / "database.sql").write_bytes(os.urandom(1000))


async def test_backup_restore_keeps_names_modes_symlinks_and_mtimes(
    restic: Restic, tmp_path: Path
) -> None:
    assert await restic.ensure_initialized() is True
    assert await restic.ensure_initialized() is False
    src = tmp_path / "src"
    _tree(src)
    summary = await restic.backup(src, ["files", "database.sql"], host="h1", tags=["t"])
    assert summary.files_new == 4  # regular files; symlinks are tree entries
    assert summary.bytes_added > 0
    again = await restic.backup(src, ["files", "database.sql"], host="h1", tags=["t"])
    assert again.files_new == 0
    assert again.files_unmodified == 4
    assert again.bytes_added < summary.bytes_added
    target = tmp_path / "out"
    await restic.restore(summary.snapshot_id, target)
    assert tree_digest(target) == tree_digest(src)
    await restic.check(read_data=True)


async def test_wrong_password_is_a_permanent_error(restic: Restic, tmp_path: Path) -> None:
    await restic.ensure_initialized()
    other = Restic(OpenRepository(id=None, location=restic.repo.location, password="nope"))
    with pytest.raises(BackupError, match="password is wrong") as caught:
        await other.snapshots()
    assert caught.value.permanent


def _expected_kept(times: list[datetime], daily: int, weekly: int, monthly: int) -> set[datetime]:
    """restic's policy, written out: newest first, one per bucket, up to N buckets each."""
    kept: set[datetime] = set()
    buckets = {
        "d": (daily, lambda t: t.strftime("%Y-%m-%d")),
        "w": (weekly, lambda t: "{}-{:02d}".format(*t.isocalendar()[:2])),
        "m": (monthly, lambda t: t.strftime("%Y-%m")),
    }
    seen: dict[str, list[str]] = {k: [] for k in buckets}
    for t in sorted(times, reverse=True):
        for key, (limit, bucket) in buckets.items():
            b = bucket(t)
            if len(seen[key]) < limit and (not seen[key] or seen[key][-1] != b):
                seen[key].append(b)
                kept.add(t)
    return kept


async def test_forget_applies_daily_weekly_monthly_per_host(restic: Restic, tmp_path: Path) -> None:
    await restic.ensure_initialized()
    src = tmp_path / "src"
    _tree(src)
    start = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
    times = [start + timedelta(days=i) for i in range(24)]
    for t in times:
        await restic.backup(src, ["files"], host="site-a", tags=[], time=t)
    await restic.backup(src, ["files"], host="site-b", tags=[], time=start)
    removed = await restic.forget(hosts=["site-a"], keep_daily=3, keep_weekly=2, keep_monthly=2)
    left = await restic.snapshots(host="site-a")
    assert {s.time for s in left} == _expected_kept(times, 3, 2, 2)
    assert len(removed["site-a"]) == len(times) - len(left)
    assert len(await restic.snapshots(host="site-b")) == 1  # another site is untouched
    await restic.check()
