"""The ``update`` task: ``sitekeeper update SITE …``, queued from the API or the site page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sitekeeper.engine.results import update_outcome_json
from sitekeeper.engine.tasks import TASKS, Done, TaskContext
from sitekeeper.errors import UsageError
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.plan import PlanError, Refusal, Selection, extension_ref, plan
from sitekeeper.updates.policy import Due, apply_due
from sitekeeper.updates.run import RunOutcome, update_site

SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
VERSION = r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,49}$"


class UpdateParams(BaseModel):
    """What to update, as ``sitekeeper update`` takes it."""

    model_config = ConfigDict(extra="forbid")

    core: bool = Field(default=False, description="The CMS's core.")
    plugins: list[str] = Field(default_factory=list, max_length=200, description="Plugin slugs.")
    themes: list[str] = Field(default_factory=list, max_length=200, description="Theme slugs.")
    extensions: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="TYPE:SLUG of other extensions (module:views, component:com_foo).",
    )
    all: bool = Field(default=False, description="Every pending update.")
    security: bool = Field(default=False, description="Only updates that fix a vulnerability.")
    to: str | None = Field(default=None, pattern=VERSION, description="One package's version.")
    force: bool = Field(default=False, description="Update a site that fails its health check.")
    sha256: dict[str, str] = Field(
        default_factory=dict,
        max_length=200,
        description="slug -> the archive's sha256, checked elsewhere (for packages whose "
        "vendor publishes no checksums, such as themes).",
    )

    @model_validator(mode="after")
    def _valid(self) -> UpdateParams:
        for slug in (*self.plugins, *self.themes, *self.sha256):
            if not _slug_ok(slug):
                raise ValueError(f"not a slug: {slug[:50]!r}")
        for ref in self.extensions:
            try:
                extension_ref(ref)
            except PlanError as exc:
                raise ValueError(str(exc)) from None
        for digest in self.sha256.values():
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError("a sha256 is 64 lower-case hex digits")
        try:
            plan(0, [], self.selection)
        except PlanError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def selection(self) -> Selection:
        """As the planner takes it."""
        return Selection(
            core=self.core,
            plugins=tuple(self.plugins),
            themes=tuple(self.themes),
            extensions=tuple(extension_ref(ref) for ref in self.extensions),
            everything=self.all,
            security=self.security,
            to=self.to,
            pins=tuple(sorted(self.sha256.items())),
        )


def _slug_ok(slug: str) -> bool:
    return re.fullmatch(SLUG, slug) is not None


@TASKS.register("update")
class UpdateTask:
    """Update the site now (``sitekeeper update SITE …``): one journaled run."""

    Params: ClassVar[type[BaseModel]] = UpdateParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "updates"
    changes_site: ClassVar[bool] = True

    async def run(self, ctx: TaskContext, site_id: int | None, params: UpdateParams) -> Done:
        """Run it; anything but "applied" or "needs_review" (applied, but the home page
        looks different) fails the task (the run is journaled either way)."""
        if site_id is None:
            raise UsageError("an update needs a site")
        async with _update_context(ctx) as uctx:
            outcome = await update_site(
                uctx, str(site_id), params.selection, force=params.force, requested_by="task"
            )
        return _done(outcome)


class PolicyUpdateParams(BaseModel):
    """What a plan's policy decided for the site: the exact (type, slug, target) items
    and the approvals among them (``engine.planner`` queues these, nobody else)."""

    model_config = ConfigDict(extra="forbid")

    exact: list[tuple[str, str, str]] = Field(min_length=1, max_length=500)
    approvals: list[int] = Field(default_factory=list, max_length=500)


@TASKS.register("policy-update")
class PolicyUpdateTask:
    """The updates a plan applies by itself, for one site: one journaled run."""

    Params: ClassVar[type[BaseModel]] = PolicyUpdateParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "updates"
    changes_site: ClassVar[bool] = True  # never re-run blindly: updates.recover settles it

    async def run(self, ctx: TaskContext, site_id: int | None, params: PolicyUpdateParams) -> Done:
        """Apply them as the policy loop would; the run is journaled either way."""
        assert site_id is not None
        due = Due(site_id, Selection(exact=tuple(params.exact)), tuple(params.approvals))
        async with _update_context(ctx) as uctx:
            outcome = await apply_due(uctx, due)
        return _done(outcome)


def _update_context(ctx: TaskContext) -> UpdateContext:
    jobs = ctx.intel
    return UpdateContext.from_settings(
        ctx.settings, ctx.backups, reinventory=lambda i: jobs.inventory_site(str(i))
    )


def _done(outcome: RunOutcome) -> Done:
    """Anything but "applied" or "needs_review" (applied, but the home page looks
    different) fails the task."""
    items = ", ".join(f"{i.package} {i.installed} → {i.target}" for i in outcome.items)
    summary = f"{outcome.status}: {items or 'nothing to update'}"
    error = None if outcome.ok else (outcome.reason or _refusals(outcome.refused))
    return Done(update_outcome_json(outcome), error, summary=summary)


def _refusals(refused: Sequence[Refusal]) -> str:
    return "; ".join(f"{r.package}: {r.reason}" for r in refused)
