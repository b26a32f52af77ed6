"""How long the scheduler's planning round takes to queue N due backups on PostgreSQL.

A fresh database (``bench_drain``, dropped afterwards) with N sites on 50 servers (as
``backup_drain.py`` seeds them); one round queues every site's backup (a task row and its
job each, one transaction), a second round finds them all queued. Nothing runs until the
first round commits, so its length delays the first backup.

    .venv/bin/python bench/plan_round.py [--sites 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import command_line
from backup_drain import URL, drop_database, fresh_database, seed_backup_sites

from sitekeeper.config import Settings
from sitekeeper.engine.planner import Planned, plan_due
from sitekeeper.store.database import Database


def one(sites: int, tmp: Path) -> tuple[float, float]:
    """(first round, second round) in seconds, on a fresh database."""
    fresh_database()
    db = Database(URL)
    try:
        seeded = argparse.Namespace(sites=sites, servers=50, layout="random")
        ids = list(seed_backup_sites(db, tmp, seeded))
        every = Planned("backup", None, lambda s, n, st: {i: {"scheduled": True} for i in ids})
        settings = Settings(home=tmp, server_parallel=2)
        took = []
        for expected in (sites, 0):
            start = time.monotonic()
            with db.session() as s:
                queued = plan_due(s, datetime.now(UTC), settings, kinds=(every,))
            took.append(time.monotonic() - start)
            assert queued.get("backup", 0) == expected, queued
        return took[0], took[1]
    finally:
        db.dispose()
        drop_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(command_line())
    firsts, seconds = [], []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
            first, second = one(args.sites, Path(tmp))
        firsts.append(first)
        seconds.append(second)
        print(f"round {n + 1}: queueing {args.sites} backups {first:.2f} s, again {second:.3f} s")
    first = statistics.median(firsts)
    print(
        f"median: {first:.2f} s ({first / args.sites * 1000:.2f} ms per site), "
        f"nothing left to queue {statistics.median(seconds):.3f} s"
    )


if __name__ == "__main__":
    main()
