"""Named queries for plans; changing a plan's interval re-syncs its sites' check jobs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.plans import MIN_CHECK_INTERVAL, PlanOptions
from sitekeeper.domain.sites import validate_name
from sitekeeper.errors import UsageError
from sitekeeper.store import schedule
from sitekeeper.store.lookup import by_id_or_name, name_taken
from sitekeeper.store.tables import Contract, Plan

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def get_plan(session: Session, ref: str) -> Plan:
    """The plan with this id or name; NotFound otherwise."""
    return by_id_or_name(session, Plan, Plan.name, ref, "plan")


def list_plans(session: Session) -> list[Plan]:
    """All plans, by name."""
    return list(session.scalars(select(Plan).order_by(Plan.name)))


def plan_options(plan: Plan) -> PlanOptions:
    """The plan's validated options (defaults for keys added after it was stored)."""
    return PlanOptions.model_validate(plan.options or {})


def parse_price(text: str | Decimal) -> Decimal:
    """A non-negative amount with at most two decimals; UsageError otherwise."""
    try:
        price = Decimal(str(text).strip())
    except InvalidOperation:
        raise UsageError(f"invalid price {text!r}") from None
    if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
        raise UsageError(f"invalid price {text!r}: a non-negative amount like 49 or 49.90")
    if price >= Decimal("1e10"):
        raise UsageError(f"price {text!r} is too large")
    return price.quantize(Decimal("0.01"))


def add_plan(
    session: Session,
    *,
    name: str,
    check_interval: int = 300,
    price: Decimal = Decimal(0),
    currency: str = "EUR",
    tls_warn_days: int = 14,
    domain_warn_days: int = 30,
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Plan:
    """Create a plan; UsageError if the name is taken or a level is out of range."""
    plan = Plan(options={}, created_at=now or datetime.now(UTC))
    _apply(
        session,
        plan,
        name=name,
        check_interval=check_interval,
        price=price,
        currency=currency,
        tls_warn_days=tls_warn_days,
        domain_warn_days=domain_warn_days,
        options=options or {},
    )
    session.add(plan)
    session.flush()
    return plan


def update_plan(
    session: Session,
    plan: Plan,
    now: float,
    *,
    default_interval: int,
    name: str | None = None,
    check_interval: int | None = None,
    price: Decimal | None = None,
    currency: str | None = None,
    tls_warn_days: int | None = None,
    domain_warn_days: int | None = None,
    options: dict[str, Any] | None = None,
) -> int:
    """Change the given fields (``options`` are merged); returns how many check jobs changed."""
    old_interval = plan.check_interval
    _apply(
        session,
        plan,
        name=name,
        check_interval=check_interval,
        price=price,
        currency=currency,
        tls_warn_days=tls_warn_days,
        domain_warn_days=domain_warn_days,
        options=options,
    )
    session.flush()
    if plan.check_interval == old_interval:
        return 0
    return schedule.resync_sites(
        session, schedule.sites_on_plan(session, plan.id), now, default_interval=default_interval
    )


def _apply(
    session: Session,
    plan: Plan,
    *,
    name: str | None,
    check_interval: int | None,
    price: Decimal | None,
    currency: str | None,
    tls_warn_days: int | None,
    domain_warn_days: int | None,
    options: dict[str, Any] | None,
) -> None:
    if name is not None:
        name = validate_name(name)
        if name_taken(session, Plan.name, name, except_id=plan.id):
            raise UsageError(f"a plan named {name!r} already exists")
        plan.name = name
    if check_interval is not None:
        if check_interval < MIN_CHECK_INTERVAL:
            raise UsageError(f"check interval must be at least {MIN_CHECK_INTERVAL}s")
        plan.check_interval = check_interval
    if price is not None:
        plan.price = parse_price(price)
    if currency is not None:
        if not _CURRENCY.match(currency.upper()):
            raise UsageError(f"invalid currency {currency!r}: a code like EUR, USD, CHF")
        plan.currency = currency.upper()
    for label, days in (("TLS", tls_warn_days), ("domain", domain_warn_days)):
        if days is not None and not 0 <= days <= 365:
            raise UsageError(f"{label} warning days must be between 0 and 365")
    if tls_warn_days is not None:
        plan.tls_warn_days = tls_warn_days
    if domain_warn_days is not None:
        plan.domain_warn_days = domain_warn_days
    if options:
        merged = {**(plan.options or {}), **options}
        try:
            plan.options = PlanOptions.model_validate(merged).model_dump(mode="json")
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"invalid plan option {field}: {first['msg']}") from None
    elif not plan.options:
        plan.options = PlanOptions().model_dump(mode="json")


def remove_plan(session: Session, plan: Plan) -> None:
    """Delete a plan no contract uses (contracts keep their plan; none are changed silently)."""
    used = session.scalar(select(func.count()).where(Contract.plan_id == plan.id)) or 0
    if used:
        raise UsageError(f"plan {plan.name!r} is used by {used} contract(s); remove them first")
    session.delete(plan)
    session.flush()
