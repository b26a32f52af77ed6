"""The ``fingerprint`` and ``inventory`` tasks: what a site runs, from outside or over SSH."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from sitekeeper.domain.humanize import plural
from sitekeeper.engine.results import inventory_json
from sitekeeper.engine.tasks import TASKS, Done, NoParams, TaskContext


@TASKS.register("fingerprint")
class FingerprintTask:
    """Fingerprint the site from outside and store it, as ``serve`` does on its schedule."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "scans"
    rerun_after_crash: ClassVar[bool] = True  # running it twice is harmless

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Fingerprint; a site that could not be reached at all fails the task."""
        assert site_id is not None
        found = await ctx.intel.fingerprint_site(site_id)
        failed = found.error if found.error and found.cms is None else None
        said = " ".join(filter(None, (found.cms, found.version))) or "no CMS recognised"
        return Done(found.to_json(), failed, summary=said)


@TASKS.register("inventory")
class InventoryTask:
    """Read the site's software over SSH (``sitekeeper inventory``) and re-match findings."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "scans"
    rerun_after_crash: ClassVar[bool] = True  # running it twice is harmless

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        """Inventory the site; the result is the ``inventory --json`` document."""
        assert site_id is not None
        _, inventory, changes = await ctx.intel.inventory_site(str(site_id))
        core = " ".join(filter(None, (inventory.cms, inventory.version)))
        extensions = plural(len(inventory.extensions), "extension")
        return Done(inventory_json(inventory, changes), summary=f"{core} · {extensions}")
