"""The ``scan`` task: the integrity scan of one site over SSH, from the API or UI."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from sitekeeper.domain.humanize import plural
from sitekeeper.engine.tasks import TASKS, Done, NoParams, TaskContext


@TASKS.register("scan")
class ScanTask:
    """Scan the site's files over SSH and file its findings (``sitekeeper scan``)."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "scans"
    rerun_after_crash: ClassVar[bool] = True  # it only reads the site

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Scan; a site without SSH access or one that cannot be reached fails the task.
        A partial scan succeeds and says so (its notes are in the result)."""
        assert site_id is not None
        report, changes = await ctx.intel.scan_site(str(site_id))
        worst = report.worst()
        said = (
            f"{plural(len(report.issues), 'issue')}"
            + (f", worst {worst}" if worst else "")
            + f" · {len(changes.opened)} opened, {len(changes.resolved)} resolved"
            + ("" if "yara" in report.complete else " · partial")
        )
        return Done(report.to_json(), report.error, summary=said)
