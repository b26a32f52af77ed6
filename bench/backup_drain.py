"""1,000 queued backups drained by 4 workers under the per-server limit, beside a check fleet.

A fresh PostgreSQL database (created, migrated, dropped at the end) holds ``--sites``
sites reached over SSH on ``--servers`` simulated servers, owned by clients of very
different sizes, and a check fleet of ``--check-sites`` simulator sites checked every
10 s (some flapping, so alerts are sent to a loopback webhook). ``--workers`` worker
processes (``serve --role worker``'s service, every queue, checks included) run a
simulated backup (a random ``--min``–``--max`` s wait instead of restic); one ``serve
--role scheduler`` delivers alerts. After ``--baseline`` seconds of checks alone, every
site's backup is queued at once through the planner's path (``planner.plan_due``: fair
priorities, the real ``job_spec`` with its server locks), and the backlog drains.

Measured: drain time and throughput, the most backups seen at once on one server, each
client's share over time, the gap between a server's lock slot freeing and its next
backup starting (lock polling), and check lag and alert-delivery latency without and
with the backlog.

    .venv/bin/python bench/backup_drain.py [--sites 1000] [--servers 50] [--workers 4]
        [--concurrency 4] [--server-parallel 2] [--poll 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from _common import command_line, start_simulator

from sitekeeper.config import Settings
from sitekeeper.domain.workers import Role
from sitekeeper.engine.actions.backups import BackupParams
from sitekeeper.engine.planner import Planned, plan_due
from sitekeeper.engine.service import Service
from sitekeeper.engine.tasks import TASKS, Done, TaskContext
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault

SITEKEEPER = str(Path(sys.executable).parent / "sitekeeper")
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DATABASE = "bench_drain"
URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
CLIENT_SHARES = (0.40, 0.20, 0.15, 0.10, 0.08, 0.04, 0.02, 0.01)  # of the backup sites
STATS_SECONDS = 5.0
WARM_UP = 15.0  # seconds of checks before the baseline window


# --- the worker process -------------------------------------------------------------


class SimulatedBackup:
    """The backup task's queue and locks, with a random wait instead of restic."""

    Params: ClassVar[type[BackupParams]] = BackupParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "backups"
    changes_site: ClassVar[bool] = True
    rerun_after_crash: ClassVar[bool] = True

    async def run(self, ctx: TaskContext, site_id: int | None, params: BackupParams) -> Done:
        start = time.time()
        shortest, longest = float(os.environ["BENCH_MIN"]), float(os.environ["BENCH_MAX"])
        await asyncio.sleep(random.uniform(shortest, longest))  # the simulated transfer
        line = json.dumps({"site": site_id, "start": start, "end": time.time()})
        await asyncio.to_thread(_append, Path(os.environ["BENCH_RUNS"]), line)
        return Done({})


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:  # one short append: whole lines from every worker
        out.write(line + "\n")


async def work() -> None:
    """Run a worker's service, with the simulated backup, until SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("sitekeeper.status").setLevel(logging.DEBUG)  # its STATS {json} lines
    TASKS.kinds()  # the built-in handlers first, then ours in the real one's place
    TASKS.remove("backup")
    TASKS.add("backup", SimulatedBackup)
    settings = Settings()
    db = Database(settings.resolved_database_url)
    service = Service(
        settings,
        db,
        stats_interval=STATS_SECONDS,
        software_intel=False,
        backups=False,
        role=Role.WORKER,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await service.run(stop)
    db.dispose()


# --- the fleet ------------------------------------------------------------------------


class Webhook:
    """A loopback channel that takes every alert."""

    def __init__(self) -> None:
        class Answer(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_port}/"


class Processes:
    """The fleet's processes, each logging to its own file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str], **extra: str) -> None:
        env = {**self.env, "SITEKEEPER_WORKER_NAME": name, **extra}
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sk(env: dict[str, str], *args: str) -> None:
    print(f"  $ sitekeeper {' '.join(args)}", flush=True)
    subprocess.run([SITEKEEPER, *args], env=env, check=True, capture_output=True)


@dataclass(frozen=True)
class Site:
    """Where a backup site's jobs land."""

    server: str
    client: str


def seed_backup_sites(db: Database, home: Path, args: argparse.Namespace) -> dict[int, Site]:
    """``--sites`` paused sites (nothing checks them), as many on each of ``--servers``
    servers, spread over clients of very different sizes. ``--layout random``: each site on
    a random server (sites added over time); ``strided``: site n on server n mod
    ``--servers`` (an import that deals its rows out server by server)."""
    vault = Vault.from_home(home)
    now = datetime.now(UTC)
    servers = [f"srv-{n % args.servers:02d}.example" for n in range(args.sites)]
    if args.layout == "random":
        random.Random(1).shuffle(servers)
    sizes = [round(share * args.sites) for share in CLIENT_SHARES]
    sizes[0] += args.sites - sum(sizes)
    made: dict[int, Site] = {}
    with db.session() as s:
        for c, size in enumerate(sizes):
            client = clients.add_client(s, vault, name=f"client-{c}", now=now)
            for _ in range(size):
                n = len(made)
                fields = sites.SiteFields(
                    url=f"https://site-{n}.example/",
                    client=client,
                    ssh={"host": servers[n], "user": "www"},
                    paused=True,
                )
                site = sites.add_site(s, fields, now, default_interval=300)
                made[site.id] = Site(servers[n], f"client-{c}")
    return made


def queue_backlog(db: Database, ids: list[int], server_parallel: int) -> float:
    """Every site's backup queued as the scheduler's planning round queues due ones; s."""
    every = Planned("backup", None, lambda s, n, st: {i: {"scheduled": True} for i in ids})
    settings = Settings(server_parallel=server_parallel)
    start = time.monotonic()
    with db.session() as s:
        queued = plan_due(s, datetime.now(UTC), settings, kinds=(every,))
    assert queued == {"backup": len(ids)}, queued
    return time.monotonic() - start


def count_done(conn: psycopg.Connection) -> tuple[int, int]:
    """(backup tasks finished ok, failed)."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'failed')"
        " FROM tasks WHERE kind = 'backup'"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def wait(what: str, predicate: Any, deadline: float) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"not within {deadline:g}s: {what}")
        time.sleep(0.2)


# --- the figures ----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; nan if none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stats_lines(logs: Path, t0: float, t1: float) -> list[dict[str, Any]]:
    """The workers' STATS windows that ended between ``t0`` and ``t1``."""
    found = []
    for log in logs.glob("worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if " STATS {" in line:
                figures = json.loads(line[line.index(" STATS {") + 7 :])
                if t0 <= figures["t"] <= t1 and figures["checks"]:
                    found.append(figures)
    return found


def check_lag(logs: Path, t0: float, t1: float) -> str:
    windows = stats_lines(logs, t0, t1)
    if not windows:
        return "no checks"
    checks = sum(w["checks"] for w in windows)
    p50 = statistics.median(w["lag_p50_ms"] for w in windows)
    p99 = max(w["lag_p99_ms"] for w in windows)
    return (
        f"{checks / (t1 - t0):.1f} checks/s, lag p50 {p50:.0f} ms, worst window's p99 {p99:.0f} ms"
    )


def alert_latency(conn: psycopg.Connection, t0: float, t1: float) -> str:
    """From the event an alert is about (an incident opened or closed) to the delivery run
    that sent it, for the events between ``t0`` and ``t1``."""
    rows = conn.execute(
        "SELECT extract(epoch FROM n.sent_at - e.ts) FROM notifications n "
        "JOIN events e ON e.id = n.event_id "
        "WHERE n.status = 'sent' AND e.ts BETWEEN to_timestamp(%s) AND to_timestamp(%s)",
        (t0, t1),
    ).fetchall()
    late = [float(r[0]) for r in rows]
    if not late:
        return "no alerts"
    return (
        f"{len(late)} alerts, event → sent p50 {pct(late, 0.5):.2f} s, "
        f"p99 {pct(late, 0.99):.2f} s, max {max(late):.2f} s"
    )


def most_at_once(runs: list[tuple[float, float]]) -> int:
    """The most of ``runs`` under way at one instant (an end before a start at a tie)."""
    edges = sorted([(s, 1) for s, _ in runs] + [(e, -1) for _, e in runs])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def report_backups(
    runs: list[dict[str, Any]], made: dict[int, Site], queued_at: float, parallel: int
) -> None:
    by_server: dict[str, list[tuple[float, float]]] = defaultdict(list)
    by_slot: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        site = made[run["site"]]
        by_server[site.server].append((run["start"], run["end"]))
        by_slot[(site.server, run["site"] % parallel)].append((run["start"], run["end"]))
    drained = max(r["end"] for r in runs) - queued_at
    print(
        f"drained {len(runs)} backups in {drained:.1f} s after the round's commit "
        f"({len(runs) / drained:.1f} backups/s)"
    )
    first = min(r["start"] for r in runs) - queued_at
    print(f"queued → first backup started: {first:.2f} s")
    worst = max(most_at_once(v) for v in by_server.values())
    print(f"most backups at once on one server: {worst} (limit {parallel})")
    print(f"most backups at once overall: {most_at_once([(r['start'], r['end']) for r in runs])}")
    gaps = []  # a slot's lock freed (its backup ended) → the slot's next backup started
    for slot in by_slot.values():
        slot.sort()
        gaps += [nxt[0] - cur[1] for cur, nxt in itertools.pairwise(slot)]
    print(
        f"lock slot freed → next backup of the slot started: p50 {pct(gaps, 0.5):.2f} s, "
        f"p99 {pct(gaps, 0.99):.2f} s, max {max(gaps):.2f} s ({len(gaps)} hand-overs)"
    )
    floor = max(sum(end - start for start, end in slot) for slot in by_slot.values())
    print(f"the busiest lock slot's own backups: {floor:.1f} s (no drain can be shorter)")
    busy = sum(r["end"] - r["start"] for r in runs)
    print(f"slot use: backups ran {busy / (drained * parallel * len(by_server)):.0%} of the "
          "servers' slot time")  # fmt: skip
    report_fairness(runs, made, queued_at, drained)


def report_fairness(
    runs: list[dict[str, Any]], made: dict[int, Site], queued_at: float, drained: float
) -> None:
    sizes = Counter(site.client for site in made.values())
    quarter: dict[str, Counter[int]] = defaultdict(Counter)
    last: dict[str, float] = defaultdict(float)
    for run in runs:
        client = made[run["site"]].client
        quarter[client][min(3, int(4 * (run["start"] - queued_at) / drained))] += 1
        last[client] = max(last[client], run["end"] - queued_at)
    print("\nper client: backups started in each quarter of the drain, last one done at")
    print("| client | sites | 1st | 2nd | 3rd | 4th | last done |")
    print("|---|---|---|---|---|---|---|")
    for client in sorted(sizes, key=lambda c: -sizes[c]):
        q = quarter[client]
        cells = " | ".join(f"{q[i] / sizes[client]:.0%}" for i in range(4))
        print(f"| {client} | {sizes[client]} | {cells} | {last[client]:.0f} s |")


# --- the run ----------------------------------------------------------------------------


def fresh_database() -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def drop_database() -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def run(args: argparse.Namespace, tmp: Path) -> None:
    home, logs, runs_file = tmp / "home", tmp / "logs", tmp / "runs.jsonl"
    logs.mkdir()
    webhook = Webhook()
    sim = start_simulator(
        "--sites", str(args.check_sites), "--flap-fraction", "0.04", "--flap-period", "30",
        "--flap-down", "12", "--manifest", str(tmp / "sites.csv"), "--client", "checks",
    )  # fmt: skip
    env = {
        **os.environ,
        "SITEKEEPER_HOME": str(home),
        "SITEKEEPER_DATABASE_URL": URL,
        "SITEKEEPER_ALERT_URLS": webhook.url,
        "SITEKEEPER_CONFIRM_DELAY": "0",
        "SITEKEEPER_EGRESS_ALLOW": "loopback",  # the simulator's sites and the webhook
        "SITEKEEPER_BACKUP_CONCURRENCY": str(args.concurrency),
        "SITEKEEPER_SERVER_PARALLEL": str(args.server_parallel),
        "SITEKEEPER_JOB_POLL_SECONDS": str(args.poll),
    }
    fleet = Processes(env, logs)
    db = Database(URL)
    try:
        sk(env, "migrate")
        sk(env, "plan", "add", "checks", "--check-interval", "10s")
        sk(env, "client", "add", "checks")
        sk(env, "contract", "add", "--client", "checks", "--plan", "checks")
        sk(env, "site", "import", str(tmp / "sites.csv"))
        made = seed_backup_sites(db, home, args)
        print(f"  {len(made)} backup sites on {args.servers} servers, {len(CLIENT_SHARES)} clients")
        fleet.start("scheduler", [SITEKEEPER, "serve", "--role", "scheduler"])
        for n in range(args.workers):
            fleet.start(
                f"worker-{n}",
                [sys.executable, __file__, "--worker"],
                BENCH_RUNS=str(runs_file),
                BENCH_MIN=str(args.min),
                BENCH_MAX=str(args.max),
            )
        wait("checks under way", lambda: stats_lines(logs, 0, time.time()), 120)
        time.sleep(WARM_UP)  # every worker up, the first round of checks behind
        base_start = time.time()
        time.sleep(args.baseline)  # the baseline: checks alone, as they come
        base_end = time.time()
        took = queue_backlog(db, sorted(made), args.server_parallel)
        queued_at = time.time()  # the round's commit: the jobs exist from here
        print(f"  queued {len(made)} backups in one planning round: {took:.2f} s")
        with psycopg.connect(URL, autocommit=True) as conn:
            wait("the backlog drained", lambda: sum(count_done(conn)) == len(made), args.deadline)
            drained_at = time.time()
            ok, failed = count_done(conn)
            time.sleep(STATS_SECONDS + 1)  # the last STATS window and deliveries come in
            lines = [json.loads(line) for line in runs_file.read_text().splitlines()]
            print(f"\ncommand: {command_line()}")
            print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
            print(
                f"{ok} backups ok, {failed} failed; {args.layout} layout, {args.workers} "
                f"workers × {args.concurrency} backups, server_parallel {args.server_parallel}, "
                f"poll {args.poll} s, backups of {args.min}–{args.max} s"
            )
            report_backups(lines, made, queued_at, args.server_parallel)
            print(f"\nchecks ({args.check_sites} sites every 10 s), {args.baseline:.0f} s before "
                  "the backlog:")  # fmt: skip
            print(f"  {check_lag(logs, base_start, base_end)}")
            print(f"  alerts: {alert_latency(conn, base_start, base_end)}")
            print(f"checks while the backlog drained ({drained_at - queued_at:.0f} s):")
            print(f"  {check_lag(logs, queued_at + STATS_SECONDS, drained_at)}")
            print(f"  alerts: {alert_latency(conn, queued_at, drained_at)}")
    finally:
        fleet.stop()
        sim.stop()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--layout", choices=("random", "strided"), default="random")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4, help="backups per worker")
    parser.add_argument("--server-parallel", type=int, default=2)
    parser.add_argument("--poll", type=float, default=2.0, help="SITEKEEPER_JOB_POLL_SECONDS")
    parser.add_argument("--min", type=float, default=0.5, help="shortest simulated backup (s)")
    parser.add_argument("--max", type=float, default=3.0, help="longest simulated backup (s)")
    parser.add_argument("--check-sites", type=int, default=500)
    parser.add_argument("--baseline", type=float, default=40.0, help="s of checks alone")
    parser.add_argument("--deadline", type=float, default=600.0, help="s for the drain")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(work())
        return
    fresh_database()
    tmp = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    try:
        run(args, tmp)
    except BaseException:
        print(f"the processes' logs are kept in {tmp / 'logs'}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp)
    finally:
        drop_database()


if __name__ == "__main__":
    main()
