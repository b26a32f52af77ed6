"""A stand-in for a backup in the job-queue tests: the backup's queue and locks, no restic.

``test-backup`` declares what the real ``backup`` handler declares (the ``backups``
queue, site-changing: a server's lock slot), so its jobs are spread exactly as backups
are. Each run writes when it started and ended (the system's monotonic clock, the same
in every process) to the file its parameters name; it holds at its start until the
``gate`` file exists, so a test can see which runs are under way at the same time, then
does ``work`` seconds of simulated transfer.

Not registered on import: a worker process registers it (``tests.engine.job_worker``),
a test only for as long as it queues it, so no other test sees an extra task kind.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from sitekeeper.engine.tasks import Done, TaskContext

KIND = "test-backup"
GATE_DEADLINE = 60.0  # a gate never opened: the run fails instead of holding for ever
GATE_LOOK = 0.02


class StandInParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: str
    gate: str
    work: float = 0.0


def _note(log: Path, line: str) -> None:
    with log.open("a") as out:  # one short append: whole lines even from many processes
        out.write(line + "\n")


async def _gate_opened(gate: Path) -> bool:
    end = time.monotonic() + GATE_DEADLINE
    while not await asyncio.to_thread(gate.exists):
        if time.monotonic() > end:
            return False
        await asyncio.sleep(GATE_LOOK)  # a file has no wake-up to wait on
    return True


class StandInBackup:
    """A simulated backup with the real one's queue and locks."""

    Params: ClassVar[type[BaseModel]] = StandInParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "backups"
    changes_site: ClassVar[bool] = True

    async def run(self, ctx: TaskContext, site_id: int | None, params: StandInParams) -> Done:
        log = Path(params.log)
        await asyncio.to_thread(_note, log, f"start {site_id} {time.monotonic():.6f}")
        if not await _gate_opened(Path(params.gate)):
            return Done({}, "the gate was never opened")
        await asyncio.sleep(params.work)  # the simulated transfer
        await asyncio.to_thread(_note, log, f"end {site_id} {time.monotonic():.6f} {os.getpid()}")
        return Done({})


def intervals(log: Path) -> dict[int, tuple[float, float]]:
    """Each site's run as (start, end); runs not ended yet are left out."""
    starts: dict[int, float] = {}
    ran: dict[int, tuple[float, float]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        what, site, at, *_ = line.split()
        if what == "start":
            starts[int(site)] = float(at)
        else:
            ran[int(site)] = (starts[int(site)], float(at))
    return ran


def started(log: Path) -> list[int]:
    """The sites whose run has started, in order."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [int(line.split()[1]) for line in lines if line.startswith("start ")]


def most_at_once(runs: list[tuple[float, float]]) -> int:
    """The most of ``runs`` under way at one instant (an end before a start at a tie)."""
    edges = sorted([(s, 1) for s, _ in runs] + [(e, -1) for _, e in runs])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak
