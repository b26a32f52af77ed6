"""`sitekeeper probe-content`: the JSON contract, the first run's baselines, a hack found
and ``--accept`` taking the site as it is now (journalled with who); the plan's forbidden
words are a plan option on the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekeeper.cli.main import app
from tests.intel.threaded import serve_in_thread
from tests.probes.security_sites import Site, page

PROSE = " ".join(f"The bakery bakes loaf {n} every morning from local flour." for n in range(15))


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[Site, str]]:
    site = Site({"/": page(f"<html><body><p>{PROSE}</p></body></html>")})
    with serve_in_thread(site.app()) as url:
        yield site, url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_baselines_then_a_hack_then_accept(home: Path, shop: tuple[Site, str]) -> None:
    site, url = shop
    assert run("plan", "add", "Care", "--forbidden-word", "Rival Bakery")[0] == 0
    assert run("client", "add", "Bäckerei")[0] == 0
    assert run("contract", "add", "--client", "Bäckerei", "--plan", "Care")[0] == 0
    assert run("site", "add", url, "--client", "Bäckerei", "--name", "bakery")[0] == 0

    code, out = run("probe-content", "--json", "bakery")
    assert code == 0
    [first] = json.loads(out)
    assert set(first) == {
        "site", "url", "pages", "issues", "requests", "notes", "error", "complete",
        "baselined", "opened", "resolved",
    }  # fmt: skip
    assert first["baselined"] == [url] and first["issues"] == [] and first["opened"] == []

    site.paths["/"] = page(
        f"<html><body><p>{PROSE} Try the Rival Bakery.</p>"
        '<a href="https://partner.test/" style="display:none">x</a></body></html>'
    )
    code, out = run("probe-content", "--json", "bakery")
    [hacked] = json.loads(out)
    found = {(i["type"], i["item"], i["severity"]) for i in hacked["issues"]}
    assert found == {
        ("hidden-link", "partner.test", "high"),
        ("forbidden-word", "rival bakery", "medium"),
    }
    assert set(hacked["issues"][0]) == {
        "type", "item", "severity", "title", "fix", "evidence", "digest"
    }  # fmt: skip
    assert sorted(hacked["opened"]) == ["partner.test", "rival bakery"]

    code, out = run("probe-content", "--json", "--accept", "--by", "anna", "bakery")
    assert code == 0
    [accepted] = json.loads(out)
    assert accepted["baselined"] == [url]
    code, out = run("journal", "--json")
    assert "seo.accepted" in out and "anna" in out
