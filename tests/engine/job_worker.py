"""A real worker process for the job-queue tests: the service `serve` runs, plus two test
task kinds, until SIGTERM (or kill -9).

    python -m tests.engine.job_worker     (settings from SITEKEEPER_* in the environment)

SITEKEEPER_TEST_ROLE picks the role (default all); SITEKEEPER_TEST_BEAT names a file a
periodic job of the scheduler's queue appends "<pid> <time>" to every second;
SITEKEEPER_TEST_LONG_BEAT names a file an exclusive periodic job, due every second and
working 2.5 s, appends "<pid> <start> <end>" to; SITEKEEPER_TEST_BACKUPS=1 turns scheduled
backups on, SITEKEEPER_TEST_PLAN_SECONDS sets the planning round's period.

``test-hold`` may run again after a crash, ``test-hold-once`` may not. Each run writes
"<pid> <name>" to the file its parameters name; the first run of a name then holds until
the process dies, a run after a crash finishes at once. ``test-backup`` is a simulated
backup (``tests.engine.backup_standin``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from functools import partial
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from sitekeeper.config import Settings
from sitekeeper.domain.workers import SCHEDULE, Role
from sitekeeper.engine.periodic import Periodic
from sitekeeper.engine.service import Service
from sitekeeper.engine.tasks import TASKS, Done, TaskContext
from sitekeeper.store.database import Database
from tests.engine.backup_standin import KIND, StandInBackup


class HoldParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    log: str


def _note_run(log: Path, name: str) -> bool:
    """Write this run down; whether ``name`` had run before (in a process now dead)."""
    before = log.read_text().splitlines() if log.exists() else []
    with log.open("a") as out:
        out.write(f"{os.getpid()} {name}\n")
    return any(line.endswith(f" {name}") for line in before)


async def _hold(params: HoldParams) -> Done:
    if await asyncio.to_thread(_note_run, Path(params.log), params.name):
        return Done({"pid": os.getpid()})
    await asyncio.Event().wait()  # held until this process is killed or stopped
    raise AssertionError("unreachable")


@TASKS.register("test-hold")
class HoldTask:
    """Harmless to run twice."""

    Params: ClassVar[type[BaseModel]] = HoldParams
    needs_site: ClassVar[bool] = False
    rerun_after_crash: ClassVar[bool] = True

    async def run(self, ctx: TaskContext, site_id: int | None, params: HoldParams) -> Done:
        return await _hold(params)


@TASKS.register("test-hold-once")
class HoldOnceTask:
    """Like an update: never run again blindly after a crash."""

    Params: ClassVar[type[BaseModel]] = HoldParams
    needs_site: ClassVar[bool] = False

    async def run(self, ctx: TaskContext, site_id: int | None, params: HoldParams) -> Done:
        return await _hold(params)


TASKS.add(KIND, StandInBackup)


async def _beat(path: Path) -> None:
    """A periodic job's trace: which process ran it, and when."""
    with path.open("a") as out:
        out.write(f"{os.getpid()} {time.time():.3f}\n")


async def _long_beat(path: Path) -> None:
    """An exclusive periodic job's trace: it works longer than its period (as a report
    run may), then writes which process ran it, from when to when."""
    start = time.time()
    await asyncio.sleep(2.5)  # the work
    with path.open("a") as out:
        out.write(f"{os.getpid()} {start:.3f} {time.time():.3f}\n")


class BeatingService(Service):
    """The service, plus the test's periodic jobs (SITEKEEPER_TEST_BEAT, _LONG_BEAT)."""

    def periodics(self) -> tuple[Periodic, ...]:
        mine = []
        if beat := os.environ.get("SITEKEEPER_TEST_BEAT"):
            mine.append(Periodic("test-beat", 1.0, SCHEDULE, partial(_beat, Path(beat))))
        if long := os.environ.get("SITEKEEPER_TEST_LONG_BEAT"):
            work = partial(_long_beat, Path(long))
            mine.append(Periodic("test-long", 1.0, SCHEDULE, work, exclusive=True))
        return (*super().periodics(), *mine)


async def main() -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url)
    role = Role(os.environ.get("SITEKEEPER_TEST_ROLE", "all"))
    service = BeatingService(
        settings,
        db,
        software_intel=False,
        backups=bool(os.environ.get("SITEKEEPER_TEST_BACKUPS")),
        plan_interval=float(os.environ.get("SITEKEEPER_TEST_PLAN_SECONDS", "60")),
        role=role,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await service.run(stop)
    db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
