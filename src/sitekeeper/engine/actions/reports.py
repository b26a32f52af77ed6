"""The ``report-generate`` and ``report-resend`` tasks: the dashboard's and the API's
"generate (and store) this period's report" and "mail this stored report again".

Rendering takes seconds (the PDF) and mail waits on a server: a worker does both, the
request only queues. ``by`` is who asked (the API sets it), as the archive records it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from sitekeeper.engine.tasks import TASKS, Done, TaskContext
from sitekeeper.errors import NotFound
from sitekeeper.reports.archive import regenerate, stored_or_new
from sitekeeper.reports.delivery import SendOutcome, deliver, smtp_of
from sitekeeper.reports.period import between
from sitekeeper.store import report_archive as archive
from sitekeeper.store.tables import Client

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class GenerateParams(BaseModel):
    """Which client, dates and contract; whether to replace a stored one, and to mail it."""

    model_config = ConfigDict(extra="forbid")

    client_id: int = Field(ge=1, le=2_147_483_647)
    first: date
    last: date
    contract_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    regenerate: bool = Field(default=False, description="Replace the stored one (journaled)")
    send: bool = Field(default=False, description="Mail it to the client's recipients")
    by: str = Field(default="api", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _dates(self) -> GenerateParams:
        if self.last < self.first:
            raise ValueError("last is before first")
        return self


class ResendParams(BaseModel):
    """Which stored report, to whom (default: the client's report recipients)."""

    model_config = ConfigDict(extra="forbid")

    report_id: int = Field(ge=1, le=2_147_483_647)
    to: list[str] = Field(default_factory=list, max_length=20)
    by: str = Field(default="api", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _addresses(self) -> ResendParams:
        from sitekeeper.domain.clients import check_address  # noqa: PLC0415

        self.to = [check_address(a.strip()) for a in self.to]
        return self


def _generate(session: Session, params: GenerateParams, now: datetime) -> tuple[int, bool]:
    client = session.get(Client, params.client_id)
    if client is None:
        raise NotFound(f"no client {params.client_id}")
    period = between(params.first, params.last, client.timezone)
    scope = archive.scope_of(params.contract_id)
    stored = archive.find(session, client.id, scope, period.first, period.last)
    if stored is not None and params.regenerate:
        return regenerate(session, stored, client, now, by=params.by).id, True
    report, new = stored_or_new(
        session, client, period, now, contract_id=params.contract_id, by=params.by
    )
    return report.id, new


def _sent(outcome: SendOutcome) -> Done:
    result = {
        "report_id": outcome.report_id,
        "accepted": outcome.accepted,
        "refused": outcome.refused,
    }
    if outcome.error is not None:
        return Done(result, outcome.error)
    return Done(result, summary=f"sent to {', '.join(outcome.accepted)}")


@TASKS.register("report-generate")
class GenerateTask:
    """Render and archive a client's report for a period (the stored one if there is one,
    unless ``regenerate``), and mail it if asked."""

    Params: ClassVar[type[BaseModel]] = GenerateParams
    needs_site: ClassVar[bool] = False
    queue: ClassVar[str] = "reports"

    async def run(self, ctx: TaskContext, site_id: int | None, params: GenerateParams) -> Done:
        """Archive (and send); a send the server refuses fails the task (it is recorded)."""
        smtp = smtp_of(ctx.settings) if params.send else None
        now = datetime.now(UTC)
        report_id, new = await ctx.dbthread.session_aside(_generate, params, now)
        said = f"report {report_id} " + ("rendered and stored" if new else "already stored")
        if smtp is None:
            return Done({"report_id": report_id, "new": new}, summary=said)
        outcome = await deliver(ctx.dbthread, smtp, report_id, by=params.by, now=now)
        done = _sent(outcome)
        return Done({**done.result, "new": new}, done.error, f"{said}; {done.summary or ''}")


@TASKS.register("report-resend")
class ResendTask:
    """Mail a stored report again, as it was stored."""

    Params: ClassVar[type[BaseModel]] = ResendParams
    needs_site: ClassVar[bool] = False
    queue: ClassVar[str] = "reports"

    async def run(self, ctx: TaskContext, site_id: int | None, params: ResendParams) -> Done:
        """Send; a refusal fails the task and is recorded with the report."""
        smtp = smtp_of(ctx.settings)
        outcome = await deliver(
            ctx.dbthread,
            smtp,
            params.report_id,
            by=params.by,
            now=datetime.now(UTC),
            to=params.to or None,
        )
        return _sent(outcome)
