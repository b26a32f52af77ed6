"""The work log in a report: minutes worked by hand against the hours the plan includes,
and the overage priced at the plan's hourly rate.

A plan's hours are per month; a period of part of a month (``--from``/``--to``) includes
that share of them (each date 1/(days of its month)). Money is exact (Decimal, rounded
half up to cents at the end).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sitekeeper.domain.plans import PlanOptions
from sitekeeper.store.work_tables import WorkEntry

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WorkEntryFigure:
    """One entry of the log."""

    id: int
    date: date
    minutes: int
    note: str
    by: str
    site_id: int | None
    site: str | None


@dataclass(frozen=True, slots=True)
class WorkFigures:
    """Work of a contract (or a client) in the period, against what its plan includes."""

    entries: list[WorkEntryFigure]
    minutes: int
    included_minutes: int | None  # None: no plan (nothing included, nothing priced)
    overage_minutes: int
    hourly_rate: Decimal | None
    overage_price: Decimal | None  # None: no rate (or no plan)
    currency: str | None


def work_of(
    entries: Sequence[WorkEntry],
    site_names: Mapping[int, str],
    options: PlanOptions | None,
    currency: str | None,
    months: Fraction,
) -> WorkFigures:
    """The figures of these entries under the plan ``options`` for ``months`` months."""
    minutes = sum(e.minutes for e in entries)
    included = _included(options.hours_included, months) if options is not None else None
    over = max(0, minutes - included) if included is not None else 0
    rate = Decimal(options.hourly_rate) if options and options.hourly_rate else None
    price = (Decimal(over) * rate / 60).quantize(CENT, ROUND_HALF_UP) if rate is not None else None
    return WorkFigures(
        entries=[
            WorkEntryFigure(
                e.id,
                e.day,
                e.minutes,
                e.note,
                e.by,
                e.site_id,
                site_names.get(e.site_id) if e.site_id else None,
            )
            for e in sorted(entries, key=lambda e: (e.day, e.id))
        ],
        minutes=minutes,
        included_minutes=included,
        overage_minutes=over,
        hourly_rate=rate,
        overage_price=price,
        currency=currency if options is not None else None,
    )


def _included(hours: float, months: Fraction) -> int:
    """Minutes included: the plan's hours × 60 × the period's months, to the minute."""
    exact = Decimal(str(hours)) * 60 * months.numerator / months.denominator
    return int(exact.quantize(Decimal(1), ROUND_HALF_UP))
