"""A client's report in figures: typed, read-only, computed from stored records.

Per contract (its plan's services, its sites, its work log against the plan's hours), per
site (``site_figures``), and the first page's summary. Every figure carries the ids of
the records behind it (incidents, journal events, backup and update runs, findings, work
entries), so the HTML can link each number to what it counts. Each section's rule is in
its own module; the reads are in ``records``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.domain.plans import PlanOptions
from sitekeeper.reports.backups import backups_of
from sitekeeper.reports.detections import detections_of
from sitekeeper.reports.domains import domain_of
from sitekeeper.reports.period import Period, between
from sitekeeper.reports.records import Records, read
from sitekeeper.reports.security import security_of
from sitekeeper.reports.site_figures import SiteFigures
from sitekeeper.reports.site_uptime import certificate_of, uptime_of
from sitekeeper.reports.summary import SummaryFigures, summarize, uptime_of_all
from sitekeeper.reports.updates import UpdateFigures, moved, pending
from sitekeeper.reports.work import WorkFigures, work_of
from sitekeeper.store.backups import plan_options
from sitekeeper.store.contracts import list_contracts
from sitekeeper.store.sites import list_sites
from sitekeeper.store.tables import Client, Contract, Site
from sitekeeper.store.work_tables import WorkEntry


@dataclass(frozen=True, slots=True)
class PeriodFigure:
    """The period as the report states it: local dates and the exact UTC bounds."""

    label: str
    first: date
    last: date
    timezone: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class ClientFigure:
    """Whom the report is for."""

    id: int
    name: str
    language: str
    timezone: str


@dataclass(frozen=True, slots=True)
class ContractFigures:
    """One contract in effect during the period: its plan's services, sites and work."""

    id: int
    plan_id: int
    plan: str
    start: date
    end: date | None
    price: Decimal
    currency: str
    services: dict[str, Any]  # the plan's options (backups, updates, SLA, hours…)
    uptime_pct: float | None
    sites: list[SiteFigures]
    work: WorkFigures


@dataclass(frozen=True, slots=True)
class ClientReport:
    """The whole report: the first page's summary, then each contract and its sites."""

    client: ClientFigure
    period: PeriodFigure
    generated_at: datetime
    summary: SummaryFigures
    contracts: list[ContractFigures]
    other_sites: list[SiteFigures]  # sites on no contract (in no plan)
    other_work: WorkFigures  # work no contract takes: see ``client_report``

    def to_json(self) -> dict[str, Any]:
        """The documented ``report --json`` document (docs/cli-json.md)."""
        data = jsonable(self)
        assert isinstance(data, dict)
        return data


def client_report(session: Session, client: Client, period: Period, now: datetime) -> ClientReport:
    """The client's report for ``period``; pending updates and certificates as of ``now``.

    Sites count from their creation and only if created before the period's end. Work on
    a site goes to its contract; work on the client as a whole to its one contract in
    effect, and to ``other_work`` (not priced) when it has none or several.
    """
    sites = [s for s in list_sites(session, client_id=client.id) if s.created_at < period.end]
    records = read(session, client.id, sites, period, now)
    figures = {s.id: _site(s, records, period, now) for s in sites}
    contracts = _contracts(session, client.id, sites, period)
    unowned = [e for e in records.work if e.site_id is None]
    names = {s.id: s.name for s in sites}
    shown: list[ContractFigures] = []
    claimed: set[int] = set()
    for contract in contracts:
        mine = [figures[s.id] for s in sites if s.contract_id == contract.id]
        ids = {f.id for f in mine}
        entries = [e for e in records.work if e.site_id in ids]
        if len(contracts) == 1:
            entries += unowned
        claimed |= {e.id for e in entries}
        shown.append(_contract(contract, mine, entries, names, period))
    other = [figures[s.id] for s in sites if s.contract_id not in {c.id for c in contracts}]
    rest = [e for e in records.work if e.id not in claimed]
    return ClientReport(
        client=ClientFigure(client.id, client.name, client.language, client.timezone),
        period=PeriodFigure(
            period.label, period.first, period.last, period.timezone, period.start, period.end
        ),
        generated_at=now,
        summary=summarize(list(figures.values()), sum(e.minutes for e in records.work)),
        contracts=shown,
        other_sites=other,
        other_work=work_of(rest, names, None, None, period.months),
    )


def _site(site: Site, records: Records, period: Period, now: datetime) -> SiteFigures:
    options = plan_options(site)
    incidents = records.incidents.get(site.id, [])
    applied, back, failed = moved(
        records.update_events.get(site.id, []), records.ecosystems, records.released
    )
    return SiteFigures(
        id=site.id,
        name=site.name,
        url=site.url,
        created_at=site.created_at,
        contract_id=site.contract_id,
        uptime=uptime_of(
            site,
            records.days,
            incidents,
            period,
            target=options.uptime_target if options else None,
            now=now,
        ),
        certificate=certificate_of(records.states.get(site.id), incidents, now),
        backups=backups_of(
            records.backup_events.get(site.id, []),
            records.drills.get(site.id),
            records.passed.get(site.id),
            options,
        ),
        updates=UpdateFigures(
            applied=applied,
            rolled_back=back,
            failed=failed,
            pending=pending(
                records.update_rows.get(site.id, []),
                records.approvals.get(site.id, []),
                records.holds.get(site.id, []),
                records.scheduled.get(site.id, []),
                now,
            ),
            pending_as_of=now,
        ),
        security=security_of(
            records.vulnerabilities.get(site.id, []),
            records.advisories,
            records.finding_events.get(site.id, []),
            period.end,
        ),
        detections=detections_of(
            records.detections.get(site.id, []),
            records.detection_events.get(site.id, []),
            period.start,
            period.end,
        ),
        domain=domain_of(records.domains.get(site.id), records.domain_periods.get(site.id), now),
    )


def _contracts(
    session: Session, client_id: int, sites: list[Site], period: Period
) -> list[Contract]:
    """The client's contracts in effect during the period, and any its sites are on."""
    used = {s.contract_id for s in sites}
    return [
        c
        for c in list_contracts(session, client_id=client_id)
        if c.id in used or (c.start <= period.last and (c.end is None or c.end >= period.first))
    ]


def _contract(
    contract: Contract,
    sites: list[SiteFigures],
    entries: list[WorkEntry],
    names: dict[int, str],
    period: Period,
) -> ContractFigures:
    plan = contract.plan
    options = PlanOptions.model_validate(plan.options or {})
    return ContractFigures(
        id=contract.id,
        plan_id=plan.id,
        plan=plan.name,
        start=contract.start,
        end=contract.end,
        price=contract.price_override if contract.price_override is not None else plan.price,
        currency=plan.currency,
        services=options.model_dump(mode="json"),
        uptime_pct=uptime_of_all(sites),
        sites=sites,
        work=work_of(entries, names, options, plan.currency, _months_in_force(contract, period)),
    )


def _months_in_force(contract: Contract, period: Period) -> Fraction:
    """The share of the plan's monthly hours the period includes: only the dates the
    contract was in force (one that starts or ends mid-month brings part of its hours)."""
    first = max(period.first, contract.start)
    last = min(period.last, contract.end or period.last)
    if last < first:
        return Fraction(0)
    return between(first, last, period.timezone).months


def jsonable(value: Any) -> Any:
    """Figures as JSON values: times and dates ISO 8601, money as a string with cents."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return value
