"""The plan form's report options (uptime target, included hours, hourly rate): drawn
from the declaration like every plan option, read back, and emptied to clear."""

from __future__ import annotations

import pytest

from sitekeeper.domain.plans import PlanFields, PlanOptions
from sitekeeper.errors import UsageError
from sitekeeper.web.ui.forms import form_fields, form_values

NAMES = ("uptime_target", "hours_included", "hourly_rate")


def test_the_plan_form_draws_and_reads_them() -> None:
    stored = {"uptime_target": 99.9, "hours_included": 2.5, "hourly_rate": "90.00"}
    drawn = {f.name: f for f in form_fields(PlanFields, stored, editing=True)}
    assert [(drawn[n].label, drawn[n].value) for n in NAMES] == [
        ("Uptime target (%)", "99.9"),
        ("Hours included per month", "2.5"),
        ("Hourly rate", "90.00"),
    ]
    assert drawn["hours_included"].input == "number" and drawn["hours_included"].required
    assert not drawn["hourly_rate"].required
    sent = {"uptime_target": "99.95 %", "hours_included": "1,5", "hourly_rate": "95.5"}
    assert form_values(PlanFields, sent, editing=True) == {
        "options": {"uptime_target": 99.95, "hours_included": 1.5, "hourly_rate": "95.50"}
    }
    emptied = {"uptime_target": "", "hours_included": "", "hourly_rate": ""}
    assert form_values(PlanFields, emptied, editing=True) == {
        "options": {"uptime_target": None, "hourly_rate": None}  # the hours stay as they are
    }


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({"hourly_rate": "ninety"}, "invalid price"),
        ({"hours_included": "two"}, "invalid hours"),
        ({"uptime_target": "high"}, "invalid percentage"),
    ],
)
def test_bad_values_are_refused_with_the_reason(sent: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        form_values(PlanFields, sent, editing=True)


def test_the_bounds_are_the_declarations() -> None:
    assert PlanOptions(hours_included=744).hours_included == 744
    for bad in (
        {"hours_included": 745},
        {"hours_included": -1},
        {"uptime_target": 0},
        {"uptime_target": 100.1},
    ):
        with pytest.raises(ValueError, match=r"hours_included|uptime_target"):
            PlanOptions.model_validate(bad)
