"""Backup benchmark against the real WordPress sites (not a test; prints figures).

    .venv/bin/python bench/backup_bench.py [--sites 100] [--concurrency 4] [--days 30]
        [--link-mbit 100] [--skip sizes|fleet]

Needs root and ``tests/realsites/wordpress.sh up 2``. It writes a test folder
of generated files into wp2's docroot (removed at the end) and never changes
wp1. Three measurements:

1. first and second (unchanged) backup of wp2 grown to ~200 MB of files:
   bytes over the network and time (targets: second < 1 % bytes, < 10 % time);
   with ``--link-mbit N`` measured on loopback and again over a simulated
   N Mbit/s link (the backup bandwidth cap on the file transfer), because on
   loopback moving the files costs almost nothing and the fixed cost of any
   backup sets the time ratio;
2. repository growth over N daily backups with 1 % of the files changing per
   day (target: repository < 1.5 x the site's size);
3. M site records (alternately wp1/wp2, read-only, each its own mirror)
   backed up with bounded concurrency: total time and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import command_line
from cryptography.fernet import Fernet

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext, backup_site, backup_sites
from sitekeeper.store import backups as queries
from sitekeeper.store import clients, sites, ssh_keys
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault

MB = 1024 * 1024
KEYS = Path("/srv/sites/keys")
NOW = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def link_kbps(mbit: float) -> int:
    """rsync's ``--bwlimit`` (KiB/s of 1024 bytes) for an ``mbit`` link (1 Mbit = 10^6 bit)."""
    return max(1, round(mbit * 1_000_000 / 8 / 1024))


def context(home: Path, concurrency: int, bwlimit_kbps: int = 0) -> BackupContext:
    home.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{home / 'bench.db'}")
    return BackupContext(
        db=db,
        vault=Vault(Fernet.generate_key()),
        settings=BackupSettings(home=home, concurrency=concurrency, bwlimit_kbps=bwlimit_kbps),
    )


def add_site(ctx: BackupContext, name: str, wp: int) -> None:
    with ctx.db.session() as s:
        client = clients.add_client(s, ctx.vault, name=f"client-{name}", now=NOW)
        key = ssh_keys.import_key(s, ctx.vault, client, (KEYS / f"wp{wp}").read_text())
        fields = sites.SiteFields(
            url=f"http://127.0.0.1:{8080 + wp}/",
            name=name,
            client=client,
            ssh=sites.build_ssh(f"wp{wp}@127.0.0.1:2222", key.id, f"/srv/sites/wp{wp}"),
            allow_duplicate=True,  # the bench backs one real site up under several names
        )
        sites.add_site(s, fields, NOW, default_interval=300)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def generate(folder: Path, total: int, size: int) -> list[Path]:
    """Incompressible files (the worst case for a backup), owned by the site user."""
    folder.mkdir()
    files = []
    for i in range(total // size):
        path = folder / f"d{i % 20:02d}" / f"upload-{i:05d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(size))
        files.append(path)
    subprocess.run(["chown", "-R", "wp2:wp2", str(folder)], check=True)
    return files


class PeakMemory:
    """Peak summed RSS of this process and its children (restic, rsync, ssh), sampled."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _tree_rss(me))


def _tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


@dataclass(frozen=True)
class FirstSecond:
    """Part one on one link: both backups' wall time and figures."""

    label: str
    first_s: float
    second_s: float
    first: queries.RunFigures
    second: queries.RunFigures

    @property
    def bytes_ratio(self) -> float:
        return self.second.bytes_transferred / self.first.bytes_transferred

    @property
    def time_ratio(self) -> float:
        return self.second_s / self.first_s


async def first_and_second(ctx: BackupContext, label: str) -> FirstSecond:
    """A first and a second (unchanged) backup of wp2 into ``ctx``'s own repository."""
    t0 = time.monotonic()
    first = await backup_site(ctx, "wp2", snapshot_time=NOW)
    t1 = time.monotonic()
    second = await backup_site(ctx, "wp2", snapshot_time=NOW + timedelta(hours=1))
    t2 = time.monotonic()
    if first.figures is None or second.figures is None:
        raise SystemExit(f"backup failed ({label}): {first.error or second.error}")
    cap = ctx.settings.bwlimit_kbps
    floor = first.figures.bytes_transferred / (cap * 1024) if cap else 0.0
    if t1 - t0 < 0.9 * floor:  # the cap did not reach rsync: the figure would be loopback's
        raise SystemExit(f"{label}: first backup took {t1 - t0:.1f} s < {floor:.1f} s at the cap")
    return FirstSecond(label, t1 - t0, t2 - t1, first.figures, second.figures)


def print_first_second(run: FirstSecond) -> None:
    a, b = run.first, run.second
    print(f"   {run.label}")
    print(
        f"     first : {run.first_s:7.1f} s  network {a.bytes_transferred / MB:8.1f} MiB  "
        f"added {a.bytes_added / MB:8.1f} MiB"
    )
    print(
        f"     second: {run.second_s:7.1f} s  network {b.bytes_transferred / MB:8.3f} MiB  "
        f"added {b.bytes_added / MB:8.3f} MiB"
    )
    print(
        f"     second/first: bytes {100 * run.bytes_ratio:.3f} % (target < 1 %), "
        f"time {100 * run.time_ratio:.1f} % (target < 10 %)"
    )


async def part_one_and_two(home: Path, days: int, link_mbit: float | None) -> None:
    ctx = context(home / "loopback", 1)
    add_site(ctx, "wp2", 2)
    folder = Path("/srv/sites/wp2") / f"sk-bench-{os.getpid()}"
    try:
        files = generate(folder, 200 * MB, 100 * 1024)
        site_bytes = du(Path("/srv/sites/wp2"))
        print(f"wp2 with test folder: {site_bytes / MB:.0f} MiB, {len(files)} generated files")
        print("\n1. first vs second (unchanged) backup")
        runs = [await first_and_second(ctx, "loopback, no cap")]
        print_first_second(runs[0])
        if link_mbit is not None:
            # Its own data directory: a fresh mirror and repository, so a true first backup.
            kbps = link_kbps(link_mbit)
            linked = context(home / "link", 1, bwlimit_kbps=kbps)
            add_site(linked, "wp2", 2)
            label = f"simulated {link_mbit:g} Mbit/s link (--bwlimit={kbps} KiB/s)"
            try:
                runs.append(await first_and_second(linked, label))
            finally:
                linked.db.dispose()
            print_first_second(runs[1])
        print("   time ratio second/first:")
        for run in runs:
            print(f"     {run.label:<50} {100 * run.time_ratio:5.1f} %  (target < 10 %)")

        rng = random.Random(42)
        changed = max(1, len(files) // 100)
        for day in range(1, days):
            for path in rng.sample(files, changed):
                path.write_bytes(os.urandom(path.stat().st_size))
            outcome = await backup_site(ctx, "wp2", snapshot_time=NOW + timedelta(days=day))
            assert outcome.ok, outcome.error
        repo = home / "loopback" / "backups" / "repository"
        size = du(repo)
        print(
            f"\n2. {days} daily backups, {changed} files ({changed * 100 / 1024:.1f} MiB, 1 %) "
            "changed per day, no pruning (loopback)"
        )
        print(
            f"   site {site_bytes / MB:.0f} MiB, repository {size / MB:.0f} MiB = "
            f"{size / site_bytes:.2f} x the site (target < 1.5 x)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        ctx.db.dispose()


async def part_three(home: Path, count: int, concurrency: int) -> None:
    ctx = context(home, concurrency)
    names = []
    for i in range(count):
        name = f"site{i:03d}"
        add_site(ctx, name, 1 + i % 2)
        names.append(name)
    with PeakMemory() as memory:
        t0 = time.monotonic()
        outcomes = await backup_sites(ctx, names)
        first = time.monotonic() - t0
        t0 = time.monotonic()
        again = await backup_sites(ctx, names)
        second = time.monotonic() - t0
    ok = sum(o.ok for o in outcomes) + sum(o.ok for o in again)
    errors = {str(o.error) for o in [*outcomes, *again] if not o.ok}
    print(
        f"\n3. {count} sites (wp1/wp2 alternately, each its own mirror), concurrency {concurrency}"
    )
    print(
        f"   first round {first:.1f} s, second (unchanged) round {second:.1f} s; "
        f"{ok}/{2 * count} ok {sorted(errors)[:3] if errors else ''}"
    )
    print(f"   peak memory (sitekeeper + restic/rsync/ssh children): {memory.peak / MB:.0f} MiB")
    print(
        f"   repository {du(home / 'backups' / 'repository') / MB:.0f} MiB, "
        f"mirrors {du(home / 'backups' / 'sites') / MB:.0f} MiB"
    )
    ctx.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skip", choices=["sizes", "fleet"], action="append", default=[])
    parser.add_argument(
        "--link-mbit",
        type=float,
        default=None,
        metavar="N",
        help="also run part one over a simulated N Mbit/s link (bandwidth cap on the transfer)",
    )
    args = parser.parse_args()
    print("command:", command_line())
    print(
        f"machine: {os.cpu_count()} cores; restic "
        + subprocess.run(
            ["restic", "version"], capture_output=True, text=True, check=True
        ).stdout.split()[1]
    )
    base = Path(tempfile.mkdtemp(prefix="sk-bench-"))
    try:
        if "sizes" not in args.skip:
            asyncio.run(part_one_and_two(base / "one", args.days, args.link_mbit))
        if "fleet" not in args.skip:
            asyncio.run(part_three(base / "fleet", args.sites, args.concurrency))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
