"""procrastinate trial (issue 13, docs/benchmarks.md §15): what the engine does on this
machine with real worker processes against the local PostgreSQL.

Figures: jobs deferred per second (one by one, and in batches), jobs completed per second
with 1 and 4 worker processes, LISTEN/NOTIFY wake-up latency (and the polling it
replaces), a worker killed -9 mid-job (time until another worker runs the job again, with
short and with procrastinate's default heartbeat settings), locks and queueing locks,
and periodic tasks deferred once per period across two worker processes.

Each run uses its own PostgreSQL schema, migrated by sitekeeper's own migrations (so
procrastinate's schema comes from migration 0016), dropped at the end.

    .venv/bin/python bench/procrastinate_trial.py [--jobs 5000] [--skip-defaults]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from _common import command_line, proc_cpu_s
from procrastinate import App, JobContext, PsycopgConnector, exceptions

from sitekeeper.store.database import Database

PG = "postgresql://postgres@127.0.0.1:5432/test"
TRIAL_TABLES = """
CREATE TABLE trial_latency (ms double precision);
CREATE TABLE trial_runs (name text, pid int, attempt int, started double precision,
                         ended double precision);
CREATE TABLE trial_ticks (ts bigint, pid int);
"""


def build_app(conninfo: str, periodic: set[str], stalled_after: float) -> App:
    """The trial's tasks on one app; periodic ones only where asked (the worker's flag)."""
    app = App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4))

    async def sql(query: Any, **args: Any) -> None:
        await app.connector.execute_query_async(query, **args)

    @app.task(name="noop")
    async def noop() -> None:
        return None

    @app.task(name="stamp")
    async def stamp(sent: float) -> None:
        await sql("INSERT INTO trial_latency VALUES (%(ms)s)", ms=(time.time() - sent) * 1000)

    @app.task(name="hold", pass_context=True)
    async def hold(context: JobContext, name: str, seconds: float) -> None:
        attempt = context.job.attempts
        await sql(
            "INSERT INTO trial_runs VALUES (%(n)s, %(p)s, %(a)s, %(t)s, NULL)",
            n=name,
            p=os.getpid(),
            a=attempt,
            t=time.time(),
        )
        await asyncio.sleep(seconds if attempt == 0 else 0.05)
        await sql(
            "UPDATE trial_runs SET ended = %(t)s WHERE name = %(n)s AND pid = %(p)s",
            t=time.time(),
            n=name,
            p=os.getpid(),
        )

    if "tick" in periodic:

        @app.periodic(cron="* * * * * *", periodic_id="tick")
        @app.task(name="tick")
        async def tick(timestamp: int) -> None:
            await sql("INSERT INTO trial_ticks VALUES (%(ts)s, %(p)s)", ts=timestamp, p=os.getpid())

    if "sweep" in periodic:

        @app.periodic(cron="* * * * * *", periodic_id="sweep")
        @app.task(name="sweep", queueing_lock="sweep")
        async def sweep(timestamp: int) -> None:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
            for job in stalled:
                await app.job_manager.retry_job(job)

    return app


def worker_main(args: argparse.Namespace) -> None:
    """One worker process (this script re-run with --worker)."""
    app = build_app(args.conninfo, set(filter(None, args.periodic.split(","))), args.stalled)

    async def run() -> None:
        async with app.open_async():
            await app.run_worker_async(
                concurrency=args.concurrency,
                listen_notify=not args.no_listen,
                update_heartbeat_interval=args.heartbeat,
                stalled_worker_timeout=args.stalled,
                fetch_job_polling_interval=args.poll,
                queues=["default"],
            )

    asyncio.run(run())


class Trial:
    """A scratch schema, the connections to it, and the worker processes started."""

    def __init__(self, schema: str) -> None:
        self.conninfo = f"{PG}?options=-csearch_path%3D{schema}"
        self.workers: list[subprocess.Popen[bytes]] = []
        self.log = Path(f"/tmp/procrastinate-trial-{schema}.log")

    def conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, autocommit=True)

    def scalar(self, query: str) -> Any:
        with self.conn() as c:
            row = c.execute(query).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None

    def start(
        self,
        count: int,
        *,
        concurrency: int = 10,
        periodic: str = "",
        heartbeat: float = 10.0,
        stalled: float = 30.0,
        no_listen: bool = False,
        poll: float = 5.0,
    ) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` worker processes and wait until each has registered."""
        before = self.scalar("SELECT count(*) FROM procrastinate_workers")
        started = []
        with self.log.open("ab") as log:
            for _ in range(count):
                argv = [
                    sys.executable,
                    __file__,
                    "--worker",
                    "--conninfo",
                    self.conninfo,
                    "--concurrency",
                    str(concurrency),
                    "--periodic",
                    periodic,
                    "--heartbeat",
                    str(heartbeat),
                    "--stalled",
                    str(stalled),
                    "--poll",
                    str(poll),
                ]
                if no_listen:
                    argv.append("--no-listen")
                started.append(subprocess.Popen(argv, stdout=log, stderr=log))
        self.workers += started
        wait_for(
            lambda: self.scalar("SELECT count(*) FROM procrastinate_workers") >= before + count
        )
        return started

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers = []
        with self.conn() as c:
            c.execute("DELETE FROM procrastinate_workers")


def wait_for(predicate: Any, deadline: float = 120.0, step: float = 0.02) -> float:
    """Seconds until ``predicate()`` held (a bench polls; a test would not)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > deadline:
            raise TimeoutError("the trial waited too long")
        time.sleep(step)
    return time.monotonic() - start


@contextmanager
def scratch_schema() -> Iterator[str]:
    schema = f"trial_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        Database(f"{PG}?options=-csearch_path%3D{schema}").dispose()
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def defer_rates(trial: Trial, n: int) -> tuple[float, float]:
    app = build_app(trial.conninfo, set(), 30)
    async with app.open_async():
        single = app.configure_task("noop", queue="parked")
        t0 = time.perf_counter()
        for _ in range(min(n, 1000)):
            await single.defer_async()
        one_by_one = min(n, 1000) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for start in range(0, n, 1000):
            await single.batch_defer_async(*({} for _ in range(min(1000, n - start))))
        batched = n / (time.perf_counter() - t0)
    with trial.conn() as c:
        c.execute("DELETE FROM procrastinate_jobs")
    return one_by_one, batched


async def batch_defer(trial: Trial, task: str, kwargs: list[dict[str, Any]], **opts: Any) -> None:
    app = build_app(trial.conninfo, set(), 30)
    async with app.open_async():
        for start in range(0, len(kwargs), 1000):
            await app.configure_task(task, **opts).batch_defer_async(*kwargs[start : start + 1000])


def throughput(trial: Trial, workers: int, n: int) -> tuple[float, float]:
    """Jobs completed per second, and the workers' CPU milliseconds per job."""
    procs = trial.start(workers, concurrency=10)
    cpu0 = sum(proc_cpu_s(p.pid) for p in procs)
    t0 = time.perf_counter()
    asyncio.run(batch_defer(trial, "noop", [{} for _ in range(n)]))
    wait_for(
        lambda: (
            trial.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status='succeeded'") >= n
        ),
        deadline=600,
        step=0.1,
    )
    rate = n / (time.perf_counter() - t0)
    cpu = sum(proc_cpu_s(p.pid) for p in procs) - cpu0
    trial.stop_all()
    with trial.conn() as c:
        c.execute("DELETE FROM procrastinate_jobs")
    return rate, cpu * 1000 / n


def latency(trial: Trial, *, listen: bool, count: int, gap: float) -> list[float]:
    trial.start(1, concurrency=4, no_listen=not listen, poll=5.0)

    async def send() -> None:
        app = build_app(trial.conninfo, set(), 30)
        async with app.open_async():
            for _ in range(count):
                await app.configure_task("stamp").defer_async(sent=time.time())
                await asyncio.sleep(gap)

    asyncio.run(send())
    wait_for(lambda: trial.scalar("SELECT count(*) FROM trial_latency") >= count)
    with trial.conn() as c:
        values = [r[0] for r in c.execute("SELECT ms FROM trial_latency")]
        c.execute("DELETE FROM trial_latency")
        c.execute("DELETE FROM procrastinate_jobs")
    trial.stop_all()
    return values


def killed_worker(trial: Trial, heartbeat: float, stalled: float, name: str) -> dict[str, float]:
    """Kill -9 the worker running a job; how long until the other one runs it again."""
    procs = trial.start(2, concurrency=2, periodic="sweep", heartbeat=heartbeat, stalled=stalled)
    asyncio.run(batch_defer(trial, "hold", [{"name": name, "seconds": 600}]))
    wait_for(lambda: trial.scalar(f"SELECT pid FROM trial_runs WHERE name='{name}'") is not None)
    victim = trial.scalar(f"SELECT pid FROM trial_runs WHERE name='{name}'")
    proc = next(p for p in procs if p.pid == victim)
    killed = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = wait_for(
        lambda: (
            trial.scalar(f"SELECT count(*) FROM trial_runs WHERE name='{name}' AND pid <> {victim}")
            >= 1
        ),
        deadline=stalled * 4 + 60,
    )
    wait_for(
        lambda: (
            trial.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status='succeeded'") >= 1
        )
    )
    runs = trial.scalar(f"SELECT count(*) FROM trial_runs WHERE name='{name}'")
    trial.stop_all()
    with trial.conn() as c:
        c.execute("DELETE FROM procrastinate_jobs")
    del killed
    return {"rerun_s": rerun, "runs": runs}


def locks(trial: Trial) -> dict[str, Any]:
    out: dict[str, Any] = {}

    async def queueing() -> bool:
        app = build_app(trial.conninfo, set(), 30)
        async with app.open_async():
            task = app.configure_task("noop", queue="parked", queueing_lock="backup:site-1")
            await task.defer_async()
            try:
                await app.configure_task(
                    "noop", queue="parked", queueing_lock="backup:site-1"
                ).defer_async()
            except exceptions.AlreadyEnqueued:
                return True
            return False

    out["second_queued_refused"] = asyncio.run(queueing())
    trial.start(2, concurrency=4)
    jobs = [{"name": f"s{site}-{i}", "seconds": 0.3} for site in (1, 2) for i in range(4)]
    t0 = time.perf_counter()

    async def defer_locked() -> None:
        app = build_app(trial.conninfo, set(), 30)
        async with app.open_async():
            for job in jobs:
                await app.configure_task("hold", lock=f"site:{job['name'][1]}").defer_async(**job)

    asyncio.run(defer_locked())
    wait_for(lambda: trial.scalar("SELECT count(*) FROM trial_runs WHERE ended IS NOT NULL") >= 8)
    out["elapsed_s"] = time.perf_counter() - t0
    with trial.conn() as c:
        rows = c.execute("SELECT name, started, ended FROM trial_runs").fetchall()
        c.execute("DELETE FROM trial_runs")
        c.execute("DELETE FROM procrastinate_jobs")
    trial.stop_all()
    overlap = 0
    for site in ("1", "2"):
        spans = sorted((s, e) for n, s, e in rows if n[1] == site)
        overlap = max(overlap, sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1]))
    out["overlaps_within_a_lock"] = overlap
    out["overlaps_across_locks"] = sum(
        1
        for n1, s1, e1 in rows
        for n2, s2, e2 in rows
        if n1[1] == "1" and n2[1] == "2" and s1 < e2 and s2 < e1
    )
    return out


def periodic_once(trial: Trial, seconds: float) -> dict[str, int]:
    trial.start(2, concurrency=2, periodic="tick")
    time.sleep(seconds)  # the figure is what happens during this window
    trial.stop_all()
    with trial.conn() as c:
        rows = c.execute("SELECT ts, count(*), count(DISTINCT pid) FROM trial_ticks GROUP BY ts")
        counts = rows.fetchall()
        pids = c.execute("SELECT count(DISTINCT pid) FROM trial_ticks").fetchone()
    return {
        "periods": len(counts),
        "doubled": sum(1 for _, n, _ in counts if n > 1),
        "worker_pids_that_ran_ticks": pids[0] if pids else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="procrastinate_trial.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per throughput run")
    parser.add_argument(
        "--skip-defaults",
        action="store_true",
        help="skip the kill -9 run with procrastinate's default heartbeat (about 45 s)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--conninfo", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--periodic", default="", help=argparse.SUPPRESS)
    parser.add_argument("--heartbeat", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--stalled", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--no-listen", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # "App is instantiated in the main Python module": deliberate here (one script).
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    if args.worker:
        worker_main(args)
        return
    print(command_line())
    with scratch_schema() as schema:
        trial = Trial(schema)
        with trial.conn() as c:
            c.execute(TRIAL_TABLES)  # type: ignore[arg-type]
        try:
            one, batched = asyncio.run(defer_rates(trial, args.jobs))
            print(f"defer: {one:,.0f} jobs/s one by one, {batched:,.0f} jobs/s in batches of 1000")
            for workers in (1, 4):
                rate, cpu_ms = throughput(trial, workers, args.jobs)
                print(
                    f"complete: {workers} worker process(es) x 10: {rate:,.0f} jobs/s, "
                    f"worker CPU {cpu_ms:.2f} ms per job"
                )
            lat = latency(trial, listen=True, count=100, gap=0.05)
            print(
                f"wake-up (LISTEN/NOTIFY): p50 {statistics.median(lat):.1f} ms, "
                f"p95 {pct(lat, 95):.1f} ms, max {max(lat):.1f} ms ({len(lat)} jobs)"
            )
            lat = latency(trial, listen=False, count=20, gap=0.3)
            print(
                f"wake-up (polling every 5 s, no LISTEN): p50 {statistics.median(lat):.0f} ms, "
                f"max {max(lat):.0f} ms"
            )
            short = killed_worker(trial, heartbeat=1.0, stalled=3.0, name="short")
            print(
                "kill -9 mid-job (heartbeat 1 s, stalled after 3 s, sweep every 1 s): "
                f"run again by the other worker after {short['rerun_s']:.1f} s; "
                f"runs {short['runs']}"
            )
            if not args.skip_defaults:
                full = killed_worker(trial, heartbeat=10.0, stalled=30.0, name="default")
                print(
                    "kill -9 mid-job (defaults: heartbeat 10 s, stalled after 30 s, sweep "
                    f"every 1 s): run again after {full['rerun_s']:.1f} s; runs {full['runs']}"
                )
            print(f"locks (8 jobs of 0.3 s, 4 per lock, 2 workers x 4; poll 5 s): {locks(trial)}")
            print(f"periodic (every 1 s, 2 workers, 10 s): {periodic_once(trial, 10.0)}")
        finally:
            trial.stop_all()


if __name__ == "__main__":
    main()
