"""Check workers on PostgreSQL (issue 13, docs/benchmarks.md §16): N simulated sites at 60 s,
1 scheduler + W worker processes, and the embedded mode (SQLite, one serve) to compare.

Modes: ``table`` (the product: ``sitekeeper serve --role worker`` claims due batches from
the schedule table), ``batch`` (the prototype in bench/_batch_jobs.py: a scheduler defers
one procrastinate job per batch of 500, workers run them), ``embedded`` (one
``sitekeeper serve`` on SQLite). Each run: a fresh database (PostgreSQL: CREATE DATABASE
bench_checks_<pid>, dropped at the end), the simulator's sites imported, every check job
re-spread over one interval from the start, the processes run for ``--duration`` s and
figures are taken over the window after ``--warmup`` s:

- checks/s: results stored with a check time in the window (check_raw rows);
- started - due: the processes' STATS lines (p50 median of windows, p99 worst window);
- stored - due: check_raw gets a ``stored_at`` column defaulting to clock_timestamp() in
  the bench database (PostgreSQL only); a row's due time is its job's final next_run_at
  less whole intervals;
- sitekeeper CPU per check: utime+stime of every sitekeeper process (/proc), window delta;
- PostgreSQL CPU per check: /proc CPU of the backends serving the bench database
  (pg_stat_activity), window delta (not the shared WAL writer or checkpointer);
- WAL bytes per check: pg_current_wal_lsn() delta (cluster-wide: others' writes count);
- peak RSS: VmHWM of each process.

    .venv/bin/python bench/scaleout_checks.py --sites 10000 --workers 1,2,4 --modes table
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from _common import command_line, proc_cpu_s, proc_hwm_mib, start_simulator

SITEKEEPER = str(Path(sys.executable).parent / "sitekeeper")  # the venv's, not PATH's
PROTOTYPE = str(Path(__file__).with_name("_batch_jobs.py"))
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
INTERVAL = 60
# Check workers take the interactive queue only: the planner's per-site jobs (scans,
# probes, backups) would run on them too and count as the checks' CPU, and each queue
# listened to holds a PostgreSQL connection (the server's 100 are shared).
QUEUES = ("--queues", "tasks")
# serve's status line in words, logged at INFO: DEBUG (for its STATS json) would make
# procrastinate log every poll, and that CPU would count as the checks'.
STATUS = re.compile(r"checked ([\d,]+) sites? .* started (\d+) ms late \(p99 (\d+) ms\)")


@dataclass
class Proc:
    """One started process whose stderr is read for STATS lines by a thread."""

    name: str
    proc: subprocess.Popen[str]
    log: Path
    stats: list[dict[str, Any]] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)

    def read(self) -> None:
        """Status lines (serve's words at INFO, the prototype's STATS) kept; all to the log."""
        assert self.proc.stderr is not None
        with self.log.open("w", buffering=1) as log:  # line by line: readable while it runs
            for line in self.proc.stderr:
                log.write(line)
                self.tail = [*self.tail[-30:], line.rstrip()]
                if " STATS {" in line:
                    self.stats.append(json.loads(line[line.index(" STATS {") + 7 :]))
                elif words := STATUS.search(line):
                    checks, p50, p99 = (int(g.replace(",", "")) for g in words.groups())
                    figures = {"t": time.time(), "checks": checks}
                    self.stats.append({**figures, "lag_p50_ms": p50, "lag_p99_ms": p99})


class Run:
    """The processes of one measurement, started and stopped together."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.procs: list[Proc] = []

    def start(self, name: str, cmd: list[str]) -> None:
        env = {**self.env, "SITEKEEPER_WORKER_NAME": name}
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        started = Proc(name, proc, self.log_dir / f"{name}.log")
        threading.Thread(target=started.read, daemon=True).start()
        self.procs.append(started)

    def cpu_s(self) -> dict[str, float]:
        return {p.name: proc_cpu_s(p.proc.pid) for p in self.procs}

    def alive(self) -> None:
        for p in self.procs:
            if p.proc.poll() is not None:
                raise RuntimeError(f"{p.name} exited:\n" + "\n".join(p.tail))

    def stop(self) -> dict[str, float]:
        """SIGTERM all; returns each process's peak RSS (MiB) read just before."""
        peaks = {p.name: proc_hwm_mib(p.proc.pid) for p in self.procs if p.proc.poll() is None}
        for p in self.procs:
            p.proc.terminate()
        for p in self.procs:
            try:
                p.proc.wait(60)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()
        return peaks


def sk(env: dict[str, str], *args: str) -> str:
    """One ``sitekeeper`` command, printed as part of the recipe."""
    print(f"  $ {shlex.join(['sitekeeper', *args])}", flush=True)
    done = subprocess.run([SITEKEEPER, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sitekeeper {shlex.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def backend_pids(conn: psycopg.Connection[Any], database: str) -> list[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def pg_cpu(pids: list[int]) -> dict[int, float]:
    cpu = {}
    for pid in pids:
        try:
            cpu[pid] = proc_cpu_s(pid)
        except OSError:
            continue  # a backend that ended
    return cpu


def wal_lsn(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    assert row is not None
    return int(row[0])


def prepare(env: dict[str, str], manifest: Path) -> None:
    """Plan, client, contract, and the simulator's sites, through the product's CLI."""
    sk(env, "plan", "add", "Bench", "--check-interval", f"{INTERVAL}s")
    sk(env, "client", "add", "Bench")
    sk(env, "contract", "add", "--client", "Bench", "--plan", "Bench")
    t0 = time.perf_counter()
    sk(env, "site", "import", str(manifest))
    print(f"  import took {time.perf_counter() - t0:.1f} s", flush=True)


def spread_sql(start: float) -> str:
    """Every check job due once within one interval from ``start``: a steady state."""
    return (
        f"UPDATE jobs SET next_run_at = {start} + random() * {INTERVAL}, last_due_at = NULL "
        "WHERE kind = 'check'"
    )


def start_processes(run: Run, mode: str, workers: int) -> None:
    stats = ["--stats-interval", "20"]
    if mode == "embedded":
        run.start("serve", [SITEKEEPER, "serve", "--web-port", "0", *stats])
        return
    run.start("scheduler", [SITEKEEPER, "serve", "--role", "scheduler", *stats])
    for i in range(workers):
        if mode == "table":
            run.start(f"worker-{i}", [SITEKEEPER, "serve", "--role", "worker", *QUEUES, *stats])
        else:
            run.start(f"worker-{i}", [sys.executable, PROTOTYPE, "worker"])
    if mode == "batch":
        run.start("batch-scheduler", [sys.executable, PROTOTYPE, "scheduler"])


def lags_from_stats(procs: list[Proc], t0: float, t1: float) -> dict[str, float | None]:
    """started - due from the STATS windows that ended inside the measurement window."""
    windows = [s for p in procs for s in p.stats if t0 < s["t"] <= t1 and s["checks"]]
    if not windows:
        return {"start_lag_p50_ms": None, "start_lag_p99_ms": None}
    return {
        "start_lag_p50_ms": statistics.median(s["lag_p50_ms"] for s in windows),
        "start_lag_p99_ms": max(s["lag_p99_ms"] for s in windows),
    }


STORED_LAG = """
WITH rows AS (
  SELECT r.stored_at,
         j.next_run_at - j.interval * ceil((j.next_run_at - r.ts_ms / 1000.0) / j.interval)
           AS due
  FROM check_raw r JOIN jobs j ON j.site_id = r.site_id AND j.kind = 'check'
  WHERE r.ts_ms >= %(t0)s * 1000 AND r.ts_ms < %(t1)s * 1000
)
SELECT count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY stored_at - due),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY stored_at - due),
       max(stored_at - due)
FROM rows
"""


def measure(args: argparse.Namespace, mode: str, workers: int, sim_ca: Path,
            manifest: Path) -> dict[str, Any]:  # fmt: skip
    """One run of ``mode`` with ``workers`` worker processes; its figures."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-checks-{mode}-{workers}-"))
    env = dict(os.environ, SITEKEEPER_HOME=str(tmp / "home"), SSL_CERT_FILE=str(sim_ca))
    env.pop("SITEKEEPER_DATABASE_URL", None)
    database = f"bench_checks_{os.getpid()}"
    pg = mode != "embedded"
    if pg:
        admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin(f"CREATE DATABASE {database}")
        env["SITEKEEPER_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
    print(f"\n## {mode}, {workers} worker(s), {args.sites} sites (logs in {tmp})", flush=True)
    result: dict[str, Any] = {"mode": mode, "workers": workers, "sites": args.sites}
    run = Run(env, tmp)
    try:
        if pg:
            sk(env, "migrate")
        prepare(env, manifest)
        start = time.time() + 5
        if pg:
            with psycopg.connect(env["SITEKEEPER_DATABASE_URL"], autocommit=True) as conn:
                conn.execute(
                    "ALTER TABLE check_raw ADD COLUMN stored_at double precision "
                    "DEFAULT extract(epoch FROM clock_timestamp())"
                )
                conn.execute(spread_sql(start))  # type: ignore[arg-type]
        else:
            import sqlite3  # noqa: PLC0415 - only the embedded mode

            with sqlite3.connect(tmp / "home" / "sitekeeper.db") as lite:
                lite.execute(spread_sql(start).replace("random()", "(abs(random()) / 9.3e18)"))
        start_processes(run, mode, workers)
        result.update(window(args, run, env, database if pg else None, start))
    finally:
        peaks = run.stop()
        result["rss_mib"] = peaks
        if pg:
            admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return result


def window(args: argparse.Namespace, run: Run, env: dict[str, str], database: str | None,
           start: float) -> dict[str, Any]:  # fmt: skip
    """Wait for the warm-up, take the window's figures, then the stored-lag query."""
    conn = psycopg.connect(env["SITEKEEPER_DATABASE_URL"], autocommit=True) if database else None
    try:
        _until(start + args.warmup, run)
        t0, cpu0 = time.time(), run.cpu_s()
        pids = backend_pids(conn, database) if conn and database else []
        pg0, wal0 = (pg_cpu(pids), wal_lsn(conn)) if conn else ({}, 0)
        load0 = Path("/proc/loadavg").read_text().split()[:3]
        _until(start + args.duration, run)
        t1, cpu1 = time.time(), run.cpu_s()
        load1 = Path("/proc/loadavg").read_text().split()[:3]
        out: dict[str, Any] = {"window_s": t1 - t0, "loadavg": [load0, load1]}
        out.update(lags_from_stats(run.procs, t0, t1))
        if conn is not None:
            pg1, wal1 = pg_cpu(pids), wal_lsn(conn)
            out["pg_cpu_s"] = sum(pg1[p] - pg0[p] for p in pg1 if p in pg0)
            out["pg_backends"] = len(pids)
            out["wal_bytes"] = wal1 - wal0
            row = conn.execute(
                "SELECT count(*) FROM check_raw WHERE ts_ms >= %s AND ts_ms < %s",
                (int(t0 * 1000), int(t1 * 1000)),
            ).fetchone()
            out["connections"] = len(backend_pids(conn, database or ""))
        else:
            import sqlite3  # noqa: PLC0415 - only the embedded mode

            db = Path(env["SITEKEEPER_HOME"]) / "sitekeeper.db"
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as lite:
                row = lite.execute(
                    "SELECT count(*) FROM check_raw WHERE ts_ms >= ? AND ts_ms < ?",
                    (int(t0 * 1000), int(t1 * 1000)),
                ).fetchone()
        assert row is not None
        checks = max(int(row[0]), 1)
        out["checks"] = checks
        out["checks_per_s"] = checks / (t1 - t0)
        used = {name: cpu1[name] - cpu0[name] for name in cpu1}
        out["cpu_s_by_process"] = used
        out["cpu_ms_per_check"] = sum(used.values()) / checks * 1000
        out["worker_cpu_ms_per_check"] = (
            sum(v for k, v in used.items() if k.startswith(("worker", "batch", "serve")))
            / checks
            * 1000
        )
        if conn is not None:
            out["pg_cpu_ms_per_check"] = out["pg_cpu_s"] / checks * 1000
            out["wal_bytes_per_check"] = out["wal_bytes"] / checks
            # Results of checks started near t1 are still being stored: give them 10 s.
            _until(t1 + 10, run)
            lag = conn.execute(STORED_LAG, {"t0": t0, "t1": t1}).fetchone()
            assert lag is not None
            late = out["start_lag_p99_ms"]
            if late is None or late >= INTERVAL * 1000:
                lag = (lag[0], None, None, None)  # a due time a whole interval back is lost
            out["stored_lag_p50_ms"] = lag[1] * 1000 if lag[1] is not None else None
            out["stored_lag_p99_ms"] = lag[2] * 1000 if lag[2] is not None else None
            out["stored_lag_max_ms"] = lag[3] * 1000 if lag[3] is not None else None
        return out
    finally:
        if conn is not None:
            conn.close()


def _until(when: float, run: Run) -> None:
    """Wait (this is the run's clock) until ``when``, failing early if a process died."""
    while time.time() < when:
        run.alive()
        time.sleep(min(1.0, max(0.0, when - time.time())))


ROWS = [
    ("checks/s (stored, window)", "checks_per_s", ".0f"),
    ("started - due p50 ms", "start_lag_p50_ms", ".0f"),
    ("started - due p99 ms (worst 10 s)", "start_lag_p99_ms", ".0f"),
    ("stored - due p50 ms", "stored_lag_p50_ms", ".0f"),
    ("stored - due p99 ms", "stored_lag_p99_ms", ".0f"),
    ("sitekeeper CPU ms/check, all", "cpu_ms_per_check", ".2f"),
    ("  of it check workers (+batch sched.)", "worker_cpu_ms_per_check", ".2f"),
    ("PostgreSQL backends CPU ms/check", "pg_cpu_ms_per_check", ".2f"),
    ("WAL bytes/check", "wal_bytes_per_check", ".0f"),
    ("PostgreSQL connections", "connections", "d"),
]


def report(results: list[dict[str, Any]]) -> None:
    def fmt(value: Any, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    heads = [f"{r['mode']} W={r['workers']}" for r in results]
    print(f"\n{'':<36}" + "".join(f"{h:>16}" for h in heads))
    for label, key, spec in ROWS:
        print(f"{label:<36}" + "".join(f"{fmt(r.get(key), spec):>16}" for r in results))
    peak = [max(r["rss_mib"].values(), default=0) for r in results]
    print(f"{'peak RSS MiB (largest process)':<36}" + "".join(f"{p:>16.0f}" for p in peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--modes", default="table", help="table, batch, embedded (comma sep.)")
    parser.add_argument("--duration", type=float, default=150.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the window")
    parser.add_argument("--latency", default="5-50ms")
    parser.add_argument("--https-fraction", type=float, default=0.1)
    args = parser.parse_args()
    # SIGTERM unwinds like an error, so the finally clauses stop processes and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    print(f"# {command_line()}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    ca, manifest = work / "ca.pem", work / "sites.csv"
    sim_args = [
        "--sites", str(args.sites), "--latency", args.latency, "--https-fraction",
        str(args.https_fraction), "--sans-per-cert", "100", "--ca", str(ca),
        "--manifest", str(manifest), "--client", "Bench",
    ]  # fmt: skip
    print(f"  $ python -m sitekeeper.simulator {shlex.join(sim_args)}", flush=True)
    sim = start_simulator(*sim_args)
    results = []
    try:
        for mode in args.modes.split(","):
            counts = [1] if mode == "embedded" else [int(w) for w in args.workers.split(",")]
            for workers in counts:
                cpu0 = proc_cpu_s(sim.pid)
                result = measure(args, mode, workers, ca, manifest)
                result["simulator_cpu_s"] = proc_cpu_s(sim.pid) - cpu0
                results.append(result)
                print("raw:", json.dumps(result), flush=True)
    finally:
        stats = sim.stop()
    report(results)
    print(f"\nsimulator: {json.dumps(stats)}")
    print(f"command: {command_line()}")


if __name__ == "__main__":
    main()
