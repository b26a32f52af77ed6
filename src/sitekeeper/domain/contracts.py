"""A contract's fields: the one place a contract field is declared (store, API, CLI, forms)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sitekeeper.domain.fields import MAX_ID, Clear, Spec
from sitekeeper.domain.plans import as_text, price_text
from sitekeeper.errors import UsageError


def parse_day(text: str) -> date:
    """A day written ``YYYY-MM-DD``; UsageError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"not a date {text!r} (use YYYY-MM-DD)") from None


def _optional_price(text: str | None) -> str | None:
    return price_text(text) if text else None


class ContractFields(BaseModel):
    """A client on a plan for a period (a price of its own overrides the plan's)."""

    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[
        int,
        Field(ge=1, le=MAX_ID),
        Spec("Client", "Client id or name.", option="--client", editable=False, ref=True),
    ]
    plan_id: Annotated[
        int, Field(ge=1, le=MAX_ID), Spec("Plan", "Plan id or name.", option="--plan", ref=True)
    ]
    start: Annotated[
        date,
        Spec("Start", "First day, YYYY-MM-DD.", parse=parse_day, input="date", defaulted=True),
    ]
    end: Annotated[
        date | None,
        Spec(
            "End",
            "Last day, YYYY-MM-DD.",
            parse=parse_day,
            input="date",
            hint="(empty: open-ended)",
            clear=Clear("--no-end", "Run indefinitely.", "Open-ended"),
        ),
    ] = None
    price: Annotated[
        str | None,
        Field(max_length=20),
        BeforeValidator(as_text),
        AfterValidator(_optional_price),
        Spec(
            "Price per month",
            "Monthly price for this contract (overrides plan).",
            hint="(empty: the plan's)",
            clear=Clear("--plan-price", "Drop the override; use the plan's price.", "Plan price"),
        ),
    ] = None
    notes: Annotated[
        str | None, Field(max_length=10_000), Spec("Notes", "Free text.", input="textarea")
    ] = None
