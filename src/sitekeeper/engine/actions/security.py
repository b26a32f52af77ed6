"""The ``probe-security`` task: the outside security probe of one site, from the API or UI."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from sitekeeper.domain.humanize import plural
from sitekeeper.engine.tasks import TASKS, Done, NoParams, TaskContext


@TASKS.register("probe-security")
class ProbeSecurityTask:
    """Probe the site's security from outside and file its findings (``probe-security``)."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "scans"
    rerun_after_crash: ClassVar[bool] = True  # running it twice is harmless

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Probe; a site that could not be reached at all fails the task."""
        assert site_id is not None
        report, changes = await ctx.intel.probe_site_security(site_id)
        worst = report.worst()
        said = (
            f"{plural(len(report.issues), 'issue')}"
            + (f", worst {worst}" if worst else "")
            + f" · {len(changes.opened)} opened, {len(changes.resolved)} resolved"
        )
        return Done(report.to_json(), report.error, summary=said)
