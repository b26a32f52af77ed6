"""`sitekeeper probe-security`: the JSON contract and exit status; a registered site's issues
are filed as findings, a bare URL's are only printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekeeper.cli.main import app
from tests.intel.threaded import serve_in_thread
from tests.probes.security_sites import ENV, GIT_HEAD, Site, page, text


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """A site that leaks its .env and .git and sends no hardening headers."""
    leaky = Site(
        {
            "/": page("<html><body>Bakery</body></html>"),
            "/.git/HEAD": text(GIT_HEAD),
            "/.env": text(ENV),
        }
    )
    with serve_in_thread(leaky.app()) as url:
        yield url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_a_bare_url_is_printed_as_json_and_nothing_is_stored(home: Path, site_url: str) -> None:
    code, out = run("probe-security", "--json", site_url, "http://127.0.0.1:9/")
    assert code == 1  # the second target could not be reached
    leaky, down = json.loads(out)
    assert set(leaky) == {
        "site", "url", "issues", "requests", "handshakes", "notes", "error", "complete",
        "opened", "resolved",
    }  # fmt: skip
    worst = leaky["issues"][0]
    assert (worst["check"], worst["item"], worst["severity"]) == (
        "exposed-file",
        "/.env",
        "critical",
    )
    assert set(worst) == {"check", "item", "severity", "title", "fix", "evidence"}
    assert leaky["error"] is None and leaky["requests"] > 0
    assert down["error"].startswith("home page not reachable")
    assert not home.exists()


def test_a_registered_site_files_its_findings(home: Path, site_url: str) -> None:
    assert run("client", "add", "Bäckerei")[0] == 0
    assert run("site", "add", site_url, "--client", "Bäckerei", "--name", "bakery")[0] == 0
    code, out = run("probe-security", "bakery")
    assert code == 0
    [report] = json.loads(out)
    assert report["site"] == "bakery"
    assert report["opened"] == [  # the headers are hardening advice ("info"), filed too
        "/.env", "/.git/HEAD", "Referrer-Policy", "X-Content-Type-Options", "X-Frame-Options",
    ]  # fmt: skip
    _, again = run("probe-security", "bakery", "--json")
    assert json.loads(again)[0]["opened"] == []
