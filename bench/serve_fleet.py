"""`sitekeeper serve` against 1,000 and 10,000 loopback sites: throughput, lag, CPU, memory, disk.

For each fleet size: start the simulator, make a fresh SITEKEEPER_HOME, create
plan + client + contract, import the simulator's manifest, run ``serve`` for
``--duration`` seconds reading its ``STATS {json}`` lines (logged at DEBUG) from stderr while
sampling /proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmHWM), then
restart ``serve`` and time how long until every site was checked again
(polling the database once a second: that is measurement, not waiting).

    .venv/bin/python bench/serve_fleet.py [--sizes 1000,10000] [--duration 180]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import command_line, proc_cpu_s, proc_hwm_mib, start_simulator

SITEKEEPER = str(Path(sys.executable).parent / "sitekeeper")  # the venv's, not PATH's
# Targets for 10,000 sites at a 60 s interval (docs/benchmarks.md).
TARGETS = {
    "checks_per_s": (">=", 170.0),
    "lag_p99_ms": ("<", 5000.0),
    "rss_mib": ("<", 500.0),
    "cpu_ms_per_check": ("<=", 2.5),
    "raw_bytes_per_check": ("<=", 50.0),
}


@dataclass
class Sample:
    """A STATS line and what /proc said when it arrived."""

    stats: dict[str, Any]
    proc_cpu_s: float
    hwm_mib: float


@dataclass
class ServeRun:
    """A running ``sitekeeper serve`` whose stderr is read by a thread."""

    proc: subprocess.Popen[str]
    samples: list[Sample] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if " STATS {" in line:
                pid = self.proc.pid
                try:
                    cpu, hwm = proc_cpu_s(pid), proc_hwm_mib(pid)
                except OSError:
                    cpu, hwm = float("nan"), float("nan")
                figures = json.loads(line[line.index(" STATS {") + 7 :])
                self.samples.append(Sample(figures, cpu, hwm))
            else:
                self.log_tail = [*self.log_tail[-40:], line.rstrip()]

    def stop(self) -> tuple[float, float]:
        """SIGTERM and wait; returns (CPU s, VmHWM MiB) read just before stopping."""
        cpu, hwm = proc_cpu_s(self.proc.pid), proc_hwm_mib(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=120)
        return cpu, hwm


def sk(env: dict[str, str], *args: str) -> str:
    """Run one ``sitekeeper`` command; print it, as part of the recipe."""
    cmd = [SITEKEEPER, *args]
    print(f"  $ {shlex.join(['sitekeeper', *args])}", flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def start_serve(env: dict[str, str], stats_interval: float) -> ServeRun:
    cmd = [SITEKEEPER, "serve", "--stats-interval", str(stats_interval), "--log-level", "debug"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)  # fmt: skip
    run = ServeRun(proc)
    threading.Thread(target=run.read, daemon=True).start()
    return run


def db_files_bytes(db: Path) -> int:
    """The SQLite file plus its WAL and shared-memory files, as they are on disk now."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def query(db: Path, sql: str, *params: Any) -> Any:
    """One value, read-only, so the running server is never disturbed beyond a reader."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def raw_table_bytes(db: Path) -> int | None:
    """Bytes of pages that hold check_raw (dbstat), or None if SQLite lacks dbstat."""
    try:
        return query(db, "SELECT SUM(pgsize) FROM dbstat WHERE name = 'check_raw'") or 0
    except sqlite3.OperationalError:
        return None


def measure_size(args: argparse.Namespace, n: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-serve-{n}-"))
    home, ca, manifest = work / "home", work / "ca.pem", work / "sites.csv"
    print(f"\n## {n} sites (work dir {work})", flush=True)
    sim_args = [
        "--sites", str(n), "--latency", args.latency, "--https-fraction", str(args.https_fraction),
        "--fail-rate", str(args.fail_rate), "--ca", str(ca), "--manifest", str(manifest),
        "--client", "Bench",
    ]  # fmt: skip
    print(f"  $ python -m sitekeeper.simulator {shlex.join(sim_args)}", flush=True)
    sim = start_simulator(*sim_args)
    env = dict(os.environ, SITEKEEPER_HOME=str(home), SSL_CERT_FILE=str(ca))
    env.pop("SITEKEEPER_DATABASE_URL", None)
    result: dict[str, Any] = {"sites": n}
    try:
        sk(env, "plan", "add", "Bench", "--check-interval", args.interval)
        sk(env, "client", "add", "Bench")
        sk(env, "contract", "add", "--client", "Bench", "--plan", "Bench")
        sk(env, "site", "import", str(manifest))
        db = home / "sitekeeper.db"
        bytes0, rows0 = db_files_bytes(db), query(db, "SELECT COUNT(*) FROM check_raw")

        print(f"  $ sitekeeper serve --stats-interval {args.stats_interval}  # {args.duration} s",
              flush=True)  # fmt: skip
        serve = start_serve(env, args.stats_interval)
        t_start = time.time()
        try:
            serve.proc.wait(timeout=args.duration)
            raise RuntimeError("serve exited early:\n" + "\n".join(serve.log_tail))
        except subprocess.TimeoutExpired:
            pass
        bytes_live = db_files_bytes(db)
        cpu_end, hwm = serve.stop()
        result.update(analyse(serve.samples, t_start, args))
        result["rss_mib"] = max(hwm, *(s.stats["rss_mib"] for s in serve.samples), 0)
        rows1 = query(db, "SELECT COUNT(*) FROM check_raw")
        checks = max(rows1 - rows0, 1)
        result["raw_rows"] = rows1 - rows0
        result["file_bytes_per_check_live"] = (bytes_live - bytes0) / checks
        result["file_bytes_per_check"] = (db_files_bytes(db) - bytes0) / checks
        raw = raw_table_bytes(db)
        result["raw_bytes_per_check"] = raw / rows1 if raw is not None and rows1 else None
        result["cpu_s_total"] = cpu_end

        result["restart_s"] = measure_restart(env, db, n, args)
    finally:
        sim.stop()
    return result


def analyse(samples: list[Sample], t_start: float, args: argparse.Namespace) -> dict[str, Any]:
    """Sustained rate, lag and CPU per check over the samples after the warm-up."""
    interval = _seconds(args.interval)
    warm = [s for s in samples if s.stats["t"] - t_start >= min(interval, args.duration / 3)]
    if len(warm) < 2:
        warm = samples[-2:]
    if len(warm) < 2:
        raise RuntimeError("fewer than two STATS lines: run longer or lower --stats-interval")
    first, last = warm[0], warm[-1]
    dt = last.stats["t"] - first.stats["t"]
    dchecks = last.stats["checks_total"] - first.stats["checks_total"]
    tail = warm[1:]  # each line's window ended at its own time; the first is pre-warm
    return {
        "checks_per_s": dchecks / dt,
        "lag_p50_ms": statistics.median(s.stats["lag_p50_ms"] for s in tail),
        "lag_p99_ms": max(s.stats["lag_p99_ms"] for s in tail),
        "cpu_ms_per_check": (last.proc_cpu_s - first.proc_cpu_s) / max(dchecks, 1) * 1000,
        "cpu_ms_per_check_stats": (last.stats["cpu_s"] - first.stats["cpu_s"])
        / max(dchecks, 1)
        * 1000,
        "window_s": dt,
        "checks_in_window": dchecks,
    }


def measure_restart(
    env: dict[str, str], db: Path, n: int, args: argparse.Namespace
) -> float | None:
    """Seconds from restarting serve until every site has a check newer than the restart."""
    restart_ms = int(time.time() * 1000)
    serve = start_serve(env, args.stats_interval)
    deadline = time.monotonic() + 2 * _seconds(args.interval) + 60
    try:
        while time.monotonic() < deadline:
            done = query(
                db, "SELECT COUNT(DISTINCT site_id) FROM check_raw WHERE ts_ms > ?", restart_ms
            )
            if done >= n:
                return time.time() - restart_ms / 1000
            if serve.proc.poll() is not None:
                raise RuntimeError("serve exited during restart:\n" + "\n".join(serve.log_tail))
            time.sleep(1)  # polling cadence of the measurement
        return None
    finally:
        serve.stop()


def _seconds(text: str) -> float:
    from sitekeeper.domain.durations import parse_duration  # noqa: PLC0415 - keep start-up lean

    return float(parse_duration(text))


def report(results: list[dict[str, Any]], interval: str) -> None:
    def fmt(value: Any, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    rows = [
        ("sustained checks/s", "checks_per_s", ".1f"),
        ("scheduling lag p50 ms", "lag_p50_ms", ".0f"),
        ("scheduling lag p99 ms (worst window)", "lag_p99_ms", ".0f"),
        ("CPU ms/check (/proc)", "cpu_ms_per_check", ".2f"),
        ("CPU ms/check (STATS cpu_s)", "cpu_ms_per_check_stats", ".2f"),
        ("peak RSS MiB", "rss_mib", ".0f"),
        ("check_raw bytes/row (dbstat)", "raw_bytes_per_check", ".1f"),
        ("DB+WAL growth bytes/check (live)", "file_bytes_per_check_live", ".1f"),
        ("DB+WAL growth bytes/check (stopped)", "file_bytes_per_check", ".1f"),
        ("re-check all after restart, s", "restart_s", ".1f"),
    ]
    print(f"\n{'metric':<40}" + "".join(f"{r['sites']:>12}" for r in results) + "  target (10k)")
    for label, key, spec in rows:
        target = TARGETS.get(key)
        target_text = f"{target[0]} {target[1]:g}" if target else ""
        if key == "restart_s":
            target_text = f"<= {interval}"
        print(f"{label:<40}" + "".join(f"{fmt(r.get(key), spec):>12}" for r in results)
              + f"  {target_text}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated site counts")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of serve")
    parser.add_argument("--interval", default="60s", help="the plan's check interval")
    parser.add_argument("--stats-interval", type=float, default=10.0)
    parser.add_argument("--latency", default="5-50ms")
    parser.add_argument("--https-fraction", type=float, default=0.1)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    args = parser.parse_args()
    print(f"# {command_line()}")
    results = [measure_size(args, int(n)) for n in args.sizes.split(",")]
    report(results, args.interval)
    print("\nraw:", json.dumps(results))


if __name__ == "__main__":
    main()
