"""Two scheduler processes at once (hot standby) on PostgreSQL's job engine: each periodic
job is deferred once per period across both and run by one of them, never by a worker
that does not take the scheduler's queue; killed with SIGKILL, the scheduler that ran it
is replaced by the other at the next period.

Processes are ``tests.engine.job_worker`` (the service plus a periodic "beat" job every
second that appends "<pid> <time>" to a file); waits are on that file under a deadline.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from tests.engine.test_job_queue import Workers, until, workers

__all__ = ["workers"]  # the real worker processes of the job-queue tests

pytestmark = pytest.mark.parametrize("db", ["postgresql"], indirect=True)

TAKEOVER = 15.0  # the bound on a standby's takeover


def _beats(path: Path) -> list[tuple[int, float]]:
    if not path.exists():
        return []
    return [
        (int(p), float(t))
        for p, t in (line.split() for line in path.read_text().split("\n") if line)
    ]


def test_a_standby_scheduler_takes_over_without_double_work(
    workers: Workers, tmp_path: Path
) -> None:
    beat = tmp_path / "beats"
    env = {"SITEKEEPER_TEST_BEAT": str(beat)}
    first = workers.start("sched-a", SITEKEEPER_TEST_ROLE="scheduler", **env)
    second = workers.start("sched-b", SITEKEEPER_TEST_ROLE="scheduler", **env)
    worker = workers.start("worker-c", SITEKEEPER_TEST_ROLE="worker", **env)
    until("the periodic job runs", lambda: len(_beats(beat)) >= 2)
    # Both schedulers defer each second's job: still one run per second, not two.
    start, count = time.time(), len(_beats(beat))
    until("six more beats", lambda: len(_beats(beat)) >= count + 6)
    elapsed = time.time() - start
    assert len(_beats(beat)) - count <= elapsed + 2, _beats(beat)
    assert worker.pid not in {pid for pid, _ in _beats(beat)}  # not its queue
    # Kill whichever ran the last one; the other goes on at the next period.
    last_pid = _beats(beat)[-1][0]
    victim, other = (first, second) if last_pid == first.pid else (second, first)
    workers.kill("sched-a" if victim is first else "sched-b")
    killed_at = time.time()
    until(
        "the standby runs the periodic job",
        lambda: any(pid == other.pid and t > killed_at for pid, t in _beats(beat)),
        deadline=TAKEOVER,
    )


def test_an_exclusive_periodic_job_never_overlaps_itself(workers: Workers, tmp_path: Path) -> None:
    """A job that works longer than its period (a report run, the domain watch), deferred
    by two schedulers: each run starts only after the last one ended, on either process."""
    beat = tmp_path / "long"
    env = {"SITEKEEPER_TEST_LONG_BEAT": str(beat)}
    for name in ("sched-a", "sched-b"):
        workers.start(name, SITEKEEPER_TEST_ROLE="scheduler", **env)
    until("four runs", lambda: len(_runs(beat)) >= 4, deadline=30)
    runs = sorted(_runs(beat), key=lambda r: r[1])
    for (_, _, ended), (pid, started, _) in itertools.pairwise(runs):
        assert started >= ended, (pid, started - ended, runs)


def _runs(path: Path) -> list[tuple[int, float, float]]:
    if not path.exists():
        return []
    return [
        (int(p), float(s), float(e))
        for p, s, e in (line.split() for line in path.read_text().split("\n") if line)
    ]
