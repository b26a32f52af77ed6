"""The ``check`` task: check one site now, the way the scheduler does, and record it."""

from __future__ import annotations

import time
from typing import ClassVar

from pydantic import BaseModel

from sitekeeper.engine.tasks import TASKS, Done, NoParams, TaskContext
from sitekeeper.errors import UsageError
from sitekeeper.store.jobs import Claim


@TASKS.register("check")
class CheckTask:
    """One check through the engine's check path: a failure is confirmed by a re-check,
    and the result, incidents and their alerts are stored as for a scheduled check."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = True
    rerun_after_crash: ClassVar[bool] = True  # running it twice is harmless

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Check the site; the result is stored before the task is done."""
        assert site_id is not None
        claim = Claim(job_id=0, site_id=site_id, due_at=time.time())
        loaded = await ctx.checks.load([claim])
        if not loaded:
            raise UsageError(f"site {site_id} is paused or no longer exists: nothing to check")
        _, target = loaded[0]
        outcome = await ctx.checks.run_one(claim, target)
        await ctx.recorder.flush()  # the site page shows this result once the task is done
        changes = [{"action": t.action, "kind": str(t.kind)} for t in outcome.transitions]
        result = outcome.result
        said = ["up" if result.up else "down"]
        if result.status:
            said.append(f"HTTP {result.status}")
        if not result.up and result.error:
            said.append(str(result.error))
        if result.response_ms is not None:
            said.append(f"{result.response_ms} ms")
        return Done(
            {"site": target.name, **result.to_json(), "incidents": changes},
            summary=" · ".join(said),
        )
