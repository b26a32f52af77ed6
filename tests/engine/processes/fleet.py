"""Real ``sitekeeper serve`` processes of every role on one PostgreSQL, and the simulator.

Each process is ``python -m sitekeeper serve --role ROLE`` with its own
``SITEKEEPER_WORKER_NAME`` (its leases and its task rows are named after it) and one
shared data directory (one vault, as hosts sharing their secret key). Killing is
SIGKILL to its process group: no goodbye, no flush, and no child left running, as a
lost host or a stopped container.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import text

from sitekeeper.store.database import Database

ROOT = Path(__file__).parents[3]
DEADLINE = 60.0
T = TypeVar("T")


class Timeout(AssertionError):
    """A condition polled for did not hold before its deadline."""


def until(what: str, predicate: Callable[[], T], deadline: float = DEADLINE) -> T:
    """``predicate()``'s first true value, looked at every 100 ms; Timeout after ``deadline``."""
    end = time.monotonic() + deadline
    while not (value := predicate()):
        if time.monotonic() > end:
            raise Timeout(f"not within {deadline:g}s: {what}")
        time.sleep(0.1)
    return value


@dataclass
class Serve:
    """One started ``serve`` process."""

    name: str
    role: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def registered_as(self) -> str:
        """Its name in the workers registry (and on the task rows it takes)."""
        return f"{self.name}/{self.proc.pid}"


@dataclass
class Fleet:
    """``serve`` processes on one database; every one is stopped at the end."""

    db: Database
    home: Path
    logs: Path
    env: dict[str, str]
    procs: dict[str, Serve] = field(default_factory=dict)
    dead: list[Serve] = field(default_factory=list)

    def start(self, name: str, role: str, *args: str) -> Serve:
        """Start ``serve --role ROLE ARGS`` named ``name``; waits for nothing (see ``ready``)."""
        log = self.logs / f"{name}.{len(self.dead)}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sitekeeper",
                "serve",
                "--stats-interval",
                "0",
                "--role",
                role,
                *args,
            ],
            cwd=ROOT,
            env={**self.env, "SITEKEEPER_WORKER_NAME": name},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, with the rsync/restic it runs
        )
        serve = Serve(name, role, proc, log)
        self.procs[name] = serve
        return serve

    def ready(self, *names: str, deadline: float = DEADLINE) -> None:
        """Wait until every named process has registered (it then does its work)."""
        for name in names:
            serve = self.procs[name]

            def up_or_gone(s: Serve = serve) -> bool:
                return self.registered(s.registered_as) or s.proc.poll() is not None

            until(f"{name} registered", up_or_gone, deadline)
            assert serve.proc.poll() is None, f"{name} exited:\n{self.tail(name)}"

    def registered(self, name: str) -> bool:
        with self.db.engine.connect() as conn:
            found = conn.scalar(text("SELECT count(*) FROM workers WHERE name = :n"), {"n": name})
            return bool(found)

    def kill(self, name: str) -> Serve:
        """kill -9 of the process and what it started (ssh, rsync, restic: as a lost host or
        a stopped container), and wait for it to be gone."""
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        return self.reap(name)

    def reap(self, name: str) -> Serve:
        """Wait for a process killed from elsewhere, and file it with the dead."""
        serve = self.procs.pop(name)
        serve.proc.wait(10)
        self.dead.append(serve)
        return serve

    def running(self, name: str) -> list[list[str]]:
        """The command lines of the programs the process started that still run (its
        process group), from /proc."""
        group = self.procs[name].pid
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == group:
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[2]) == group:  # state, ppid, pgrp
                found.append([a.decode(errors="replace") for a in cmdline.split(b"\0") if a])
        return found

    def pids(self, role: str) -> dict[int, str]:
        """Live processes of ``role``: pid -> name."""
        return {s.pid: n for n, s in self.procs.items() if s.role == role}

    def tail(self, name: str, chars: int = 4000) -> str:
        serve = self.procs.get(name) or next(s for s in reversed(self.dead) if s.name == name)
        return serve.log.read_text(errors="replace")[-chars:]

    def stop_all(self) -> None:
        """SIGTERM to every live process, then SIGKILL to any still there after 30 s."""
        for serve in self.procs.values():
            if serve.proc.poll() is None:
                serve.proc.send_signal(signal.SIGTERM)
        for serve in self.procs.values():
            try:
                serve.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.proc.wait()

    def errors(self) -> dict[str, list[str]]:
        """Tracebacks and ERROR lines per process log (dead ones included)."""
        found: dict[str, list[str]] = {}
        for serve in [*self.dead, *self.procs.values()]:
            lines = serve.log.read_text(errors="replace").splitlines()
            bad = [ln for ln in lines if " ERROR " in ln or ln.startswith("Traceback")]
            if bad:
                found[serve.log.name] = bad
        return found


def base_env(db: Database, home: Path, **settings: str) -> dict[str, str]:
    """The environment every process shares: the database, the data directory, and
    short heartbeats (a process silent for 2 s is dead to the job queue)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEKEEPER_") or k in KEEP_ENV}
    return (
        env
        | {
            "SITEKEEPER_HOME": str(home),
            "SITEKEEPER_DATABASE_URL": db.url,
            "SITEKEEPER_JOB_HEARTBEAT_SECONDS": "0.5",
            "SITEKEEPER_JOB_STALLED_SECONDS": "2",
            "SITEKEEPER_JOB_SWEEP_SECONDS": "1",
            "SITEKEEPER_LOG_LEVEL": "INFO",
        }
        | settings
    )


KEEP_ENV = frozenset({"SITEKEEPER_REQUIRE_SERVICES"})


@dataclass
class Simulator:
    """``python -m sitekeeper.simulator``: sites on 127.x.y.z and a control API."""

    proc: subprocess.Popen[str]
    control: str
    manifest: Path

    @classmethod
    def start(cls, sites: int, manifest: Path, *args: str) -> Simulator:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sitekeeper.simulator",
                "--sites",
                str(sites),
                "--manifest",
                str(manifest),
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:  # the simulator prints "ready {json}" once every site listens
            if line.startswith("ready "):
                ready: dict[str, Any] = json.loads(line[6:])
                return cls(proc, ready["control"], manifest)
        proc.wait()
        raise RuntimeError(f"the simulator exited ({proc.returncode}) before it was ready")

    def urls(self) -> list[str]:
        """Every site's URL, in site index order."""
        with self.manifest.open(newline="", encoding="utf-8") as f:
            return [row["url"] for row in csv.DictReader(f)]

    def down(self, index: int, mode: str = "503") -> None:
        httpx.post(f"{self.control}/sites/{index}/down", params={"mode": mode}).raise_for_status()

    def up(self, index: int) -> None:
        httpx.post(f"{self.control}/sites/{index}/up").raise_for_status()

    def in_flight(self) -> int:
        """Requests the sites are answering right now (checks under way)."""
        stats: dict[str, Any] = httpx.get(f"{self.control}/stats").json()
        return int(stats["in_flight"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
