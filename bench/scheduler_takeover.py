"""Time for a standby scheduler to take over after the active one is killed (kill -9).

Two ``sitekeeper serve --role scheduler`` processes and one ``--role worker`` share a
fresh PostgreSQL database. Both schedulers defer each period's periodic jobs (procrastinate
keeps one per period); the alert delivery job runs in the scheduler's queue every 5 s.
Each round kills one scheduler with SIGKILL, measures the time until a delivery job
deferred after the kill has run to completion (its job row gone: successful jobs are
deleted), then starts a fresh scheduler for the next round.

    .venv/bin/python bench/scheduler_takeover.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from _common import command_line

SITEKEEPER = str(Path(sys.executable).parent / "sitekeeper")
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DATABASE = "bench_takeover"
DELIVERY = "sitekeeper.every.delivery"


def _fresh_database() -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"


def _drop_database() -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


class Fleet:
    """The serve processes of one run, each logging to its own file."""

    def __init__(self, url: str, home: Path) -> None:
        self.url, self.home = url, home
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, role: str) -> None:
        env = {
            **os.environ,
            "SITEKEEPER_HOME": str(self.home),
            "SITEKEEPER_DATABASE_URL": self.url,
            "SITEKEEPER_WORKER_NAME": name,
        }
        log = (self.home.parent / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [SITEKEEPER, "serve", "--role", role], env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _delivery_done_after(conn: psycopg.Connection, after: float) -> bool:
    """Whether a delivery job deferred for a period after ``after`` has finished."""
    row = conn.execute(
        "SELECT d.job_id, j.status FROM procrastinate_periodic_defers d "
        "LEFT JOIN procrastinate_jobs j ON j.id = d.job_id "
        "WHERE d.task_name = %s AND d.defer_timestamp > %s "
        "ORDER BY d.defer_timestamp LIMIT 1",
        (DELIVERY, int(after)),
    ).fetchone()
    return row is not None and (row[1] is None or row[1] == "succeeded")


def _last_worker(conn: psycopg.Connection) -> int:
    """The newest procrastinate worker's id (a process that started listening later has a
    larger one)."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM procrastinate_workers").fetchone()
    return int(row[0]) if row else 0


def _wait(what: str, predicate: object, deadline: float) -> float:
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > deadline:
            raise SystemExit(f"not within {deadline:g}s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = _fresh_database()
    subprocess.run(
        [SITEKEEPER, "migrate"], env={**os.environ, "SITEKEEPER_DATABASE_URL": url}, check=True
    )
    takeovers: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        fleet = Fleet(url, home)
        try:
            fleet.start("worker", "worker")
            fleet.start("sched-0", "scheduler")
            fleet.start("sched-1", "scheduler")
            with psycopg.connect(url, autocommit=True) as conn:
                _wait("a first delivery", lambda: _delivery_done_after(conn, 0), 120)
                for n in range(args.rounds):
                    victim = sorted(name for name in fleet.procs if name.startswith("sched"))[0]
                    # Kill right after a delivery ran: the worst case is a whole period.
                    seen = time.time()
                    _wait("a delivery", lambda s=seen: _delivery_done_after(conn, s - 1), 60)
                    killed = time.time()
                    fleet.kill(victim)
                    took = _wait(
                        "the standby's delivery", lambda k=killed: _delivery_done_after(conn, k), 60
                    )
                    takeovers.append(took)
                    print(f"round {n + 1}: killed {victim}; delivery again after {took:.2f} s")
                    newest = _last_worker(conn)
                    fleet.start(f"sched-{n + 2}", "scheduler")
                    # The next kill only once the new standby listens: a standby still
                    # starting is no standby.
                    _wait("the new scheduler", lambda b=newest: _last_worker(conn) > b, 60)
        finally:
            fleet.stop()
            _drop_database()
    print(f"\ncommand: {command_line()}")
    print(f"delivery period 5 s, {len(takeovers)} kills")
    print(
        f"takeover: median {statistics.median(takeovers):.2f} s, max {max(takeovers):.2f} s "
        "(target < 15 s)"
    )


if __name__ == "__main__":
    main()
