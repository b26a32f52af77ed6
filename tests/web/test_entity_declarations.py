"""One declaration per entity: a field declared once reaches the API, the CLI and the forms.

A throwaway entity stands for a new one (or a plan with a new field): nothing but its
model is written, and each door offers the field with the declared name, bounds and rules.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pytest
import typer
from pydantic import BaseModel, ConfigDict, Field
from typer.testing import CliRunner

from sitekeeper.cli.entity_options import entity_options
from sitekeeper.domain.contracts import parse_day
from sitekeeper.domain.fields import Clear, Spec, api_model, validated
from sitekeeper.errors import UsageError
from sitekeeper.web.ui.forms import form_fields, form_values


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=20), Spec("Name", "New name.", arg_help="Its name.")]
    size: Annotated[int, Field(ge=1, le=9), Spec("Size", "How big.", input="number")] = 3
    until: Annotated[
        date | None,
        Spec("Until", "Last day.", parse=parse_day, clear=Clear("--forever", "No end.", "None")),
    ] = None


def test_the_api_models_carry_the_declared_names_defaults_and_bounds() -> None:
    made = api_model(Thing, "ThingIn", "A new thing.", "in").model_json_schema()
    assert made["required"] == ["name"]
    assert made["properties"]["size"] == {
        "default": 3, "maximum": 9, "minimum": 1, "title": "Size", "type": "integer"
    }  # fmt: skip
    patch = api_model(Thing, "ThingPatch", "Changes.", "patch").model_json_schema()
    assert "required" not in patch
    assert patch["properties"]["clear_until"]["default"] is False


def _cli(seen: list[dict[str, Any]]) -> typer.Typer:
    app = typer.Typer()

    @app.command("add")
    @entity_options(Thing, "add")
    def add(ctx: typer.Context, *, values: dict[str, Any]) -> None:
        seen.append(values)

    @app.command("edit")
    @entity_options(Thing, "edit")
    def edit(ctx: typer.Context, *, ref: str, values: dict[str, Any]) -> None:
        seen.append({"ref": ref, **values})

    return app


def test_the_cli_offers_each_declared_field_and_passes_what_was_given() -> None:
    seen: list[dict[str, Any]] = []
    app, runner = _cli(seen), CliRunner()
    added = runner.invoke(app, ["add", "Box", "--size", "4", "--until", "2026-01-02"])
    assert added.exit_code == 0, added.output
    edited = runner.invoke(app, ["edit", "Box", "--name", "Crate", "--forever"])
    assert edited.exit_code == 0, edited.output
    assert seen == [
        {"name": "Box", "size": 4, "until": date(2026, 1, 2)},
        {"ref": "Box", "name": "Crate", "clear_until": True},
    ]
    assert "--size" in runner.invoke(app, ["add", "--help"]).output


def test_the_form_draws_and_reads_the_declared_fields() -> None:
    drawn = form_fields(Thing, {"name": "Box", "size": 5}, editing=True)
    assert [(f.name, f.label, f.value) for f in drawn] == [
        ("name", "Name", "Box"),
        ("size", "Size", "5"),
        ("until", "Until", ""),
    ]
    sent = {"name": "Box", "size": "6", "until": ""}
    assert form_values(Thing, sent) == {"name": "Box", "size": 6}
    assert form_values(Thing, sent, editing=True) == {"name": "Box", "size": 6, "clear_until": True}


def test_the_store_rules_come_from_the_declaration() -> None:
    assert validated(Thing, {"name": "Box"}) == {"name": "Box", "size": 3, "until": None}
    with pytest.raises(UsageError, match="invalid size"):
        validated(Thing, {"name": "Box", "size": 12})
    with pytest.raises(UsageError, match="unknown field"):
        validated(Thing, {"name": "Box", "colour": "red"})
