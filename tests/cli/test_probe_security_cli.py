"""`sitekeeper probe-security`: the JSON contract and exit status; a registered site's issues
are filed as findings, a bare URL's are only printed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekeeper.cli.main import app
from tests.probes.security_sites import ENV, GIT_HEAD

FILES = {
    "/": b"<html><body>Bakery</body></html>",
    "/.git/HEAD": GIT_HEAD.encode(),
    "/.env": ENV.encode(),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = FILES.get(self.path)
        self.send_response(200 if body is not None else 404)
        body = body if body is not None else b"not here"
        self.send_header("Content-Type", "text/html" if self.path == "/" else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


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
