"""CLI fixtures: run ``sitekeeper`` in-process against a scratch home."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from sitekeeper.cli.main import app

Run = Callable[..., Result]


@pytest.fixture
def run(home: Path) -> Run:
    """Invoke the CLI; ``ok=True`` (default) asserts exit 0 and shows stderr if not."""
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(app, list(args), env=env)
        if ok:
            assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    return invoke


def as_json(result: Result) -> Any:
    """The command's stdout parsed as JSON."""
    return json.loads(result.stdout)


@pytest.fixture
def agency(run: Run) -> Run:
    """A client on a running plan, the way a new user sets one up."""
    run("client", "add", "Bäckerei Müller", "--email", "info@example.com", "--language", "de")
    run("plan", "add", "Basic", "--check-interval", "60s", "--price", "49")
    run(
        "contract", "add", "--client", "Bäckerei Müller", "--plan", "Basic", "--start", "2026-01-01"
    )
    return run
