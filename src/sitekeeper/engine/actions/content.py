"""The ``probe-content`` task: SEO spam, defacement and cloaking on one site's key pages,
from the API or UI (re-baselining after a redesign is ``probe-content --accept``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from sitekeeper.domain.humanize import plural
from sitekeeper.engine.tasks import TASKS, Done, NoParams, TaskContext


@TASKS.register("probe-content")
class ProbeContentTask:
    """Probe the site's key pages and file their findings (``probe-content``)."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "scans"
    rerun_after_crash: ClassVar[bool] = True  # it only reads the site

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Probe; a site whose home page could not be read fails the task."""
        assert site_id is not None
        report, changes = await ctx.intel.probe_site_content(site_id)
        said = (
            f"{plural(len(report.issues), 'issue')} on {plural(len(report.pages), 'page')}"
            f" · {len(changes.opened)} opened, {len(changes.resolved)} resolved"
        )
        return Done(report.to_json(), report.error, summary=said)
