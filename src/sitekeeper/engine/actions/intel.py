"""The ``feeds-poll`` and ``advisories-import`` tasks: the catalogue commands, queued."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sitekeeper.domain.humanize import count, plural
from sitekeeper.engine.intel_ingest import IngestReport
from sitekeeper.engine.results import ingest_report_json
from sitekeeper.engine.tasks import TASKS, Done, NoParams, TaskContext
from sitekeeper.errors import UsageError

UPLOAD_NAME = r"^[0-9a-f]{32}\.upload$"


def upload_dir(home: Path) -> Path:
    """Where uploaded advisory files wait for their import task (removed once it ran)."""
    return home / "uploads" / "advisories"


def _ingested(report: IngestReport) -> Done:
    """The report, and its one line: what was read, what it changed on the sites."""
    said = []
    if report.advisories:
        said.append(plural(report.advisories, "advisory", "advisories") + " read")
    if report.packages:
        said.append(plural(report.packages, "catalogue entry", "catalogue entries") + " changed")
    said.append(f"{plural(report.opened, 'finding')} opened, {count(report.resolved)} resolved")
    if report.errors:
        said.append(plural(len(report.errors), "error"))
    return Done(ingest_report_json(report), summary=" · ".join(said))


@TASKS.register("feeds-poll")
class FeedsPollTask:
    """Poll the vendors' release feeds now (``sitekeeper feeds poll``)."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = False
    queue: ClassVar[str] = "feeds"
    rerun_after_crash: ClassVar[bool] = True  # running it twice is harmless

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Poll; a feed that fails is listed in the result's errors, the rest is stored."""
        return _ingested(await ctx.intel.poll_feeds())


class ImportParams(BaseModel):
    """An http(s) URL to fetch, or the name of a file uploaded to the data directory."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://[^\s]+$")
    upload: str | None = Field(default=None, pattern=UPLOAD_NAME)

    @model_validator(mode="after")
    def _one_source(self) -> ImportParams:
        if (self.url is None) == (self.upload is None):
            raise ValueError("give exactly one of url or upload")
        return self


@TASKS.register("advisories-import")
class AdvisoriesImportTask:
    """Import OSV, Wordfence or Joomla advisories (``sitekeeper advisories import``)."""

    Params: ClassVar[type[BaseModel]] = ImportParams
    needs_site: ClassVar[bool] = False
    queue: ClassVar[str] = "feeds"
    rerun_after_crash: ClassVar[bool] = True  # running it twice is harmless

    async def run(self, ctx: TaskContext, site_id: int | None, params: ImportParams) -> Done:
        """Import all or nothing; an uploaded file is removed afterwards either way."""
        if params.url is not None:
            return _ingested(await ctx.intel.import_advisories(params.url))
        assert params.upload is not None
        path = upload_dir(ctx.settings.home) / params.upload
        if not path.is_file():
            raise UsageError("the uploaded file is gone (was the task run already?)")
        try:
            report = await ctx.intel.import_advisories(str(path))
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        return _ingested(report)
