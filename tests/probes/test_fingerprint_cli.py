"""`sitekeeper fingerprint`: JSON contract and exit status, against the real sites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from sitekeeper.cli.context import AppContext
from sitekeeper.cli.fingerprint import fingerprint
from tests.realsites import real_wp_sites

__all__ = ["real_wp_sites"]


def _app() -> typer.Typer:
    """The command mounted the way cli/main.py mounts commands (a group with a root)."""
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = AppContext()

    app.command("fingerprint")(fingerprint)
    return app


def test_json_is_one_object_per_target_in_order(
    real_wp_sites: list[dict[str, Any]], home: Path
) -> None:
    url = real_wp_sites[1]["url"]
    result = CliRunner().invoke(_app(), ["fingerprint", url, "http://127.0.0.1:9/", "--json"])
    assert result.exit_code == 1, result.output  # one target could not be reached
    payload = json.loads(result.stdout)
    assert [set(item) for item in payload] == [
        {"site", "url", "cms", "version", "candidates", "evidence", "error"}
    ] * 2
    wp, down = payload
    assert (wp["site"], wp["url"], wp["cms"], wp["version"], wp["error"]) == (
        None, url, "wordpress", "6.1.9", None,
    )  # fmt: skip
    assert (down["cms"], down["error"]) == (None, "refused: connection refused")
    assert not (home / "sitekeeper.db").exists()  # bare URLs never create a database


def test_all_reachable_exits_zero(real_wp_sites: list[dict[str, Any]], home: Path) -> None:
    result = CliRunner().invoke(_app(), ["fingerprint", real_wp_sites[0]["url"], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["version"] == "6.1.9"
