"""`sitekeeper check`: JSON shape, exit status, registered sites and bare URLs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekeeper.cli.main import app


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<title>ok</title> Welcome to the bakery" if self.path == "/" else b"gone"
        self.send_response(200 if self.path == "/" else 404)
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


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_bare_urls_give_json_and_exit_1_when_one_is_down(home: Path, site_url: str) -> None:
    code, out, _ = run("check", "--json", site_url, site_url + "missing")
    assert code == 1
    up, down = json.loads(out)
    assert up["url"] == site_url
    assert up["up"] is True and up["status"] == 200 and up["error"] is None
    assert isinstance(up["response_ms"], int)
    assert up["tls"] is None
    assert down["up"] is False and down["status"] == 404 and down["error"] == "http_status"
    assert not home.exists()  # checking bare URLs registers nothing


def test_all_up_exits_0(home: Path, site_url: str) -> None:
    code, out, _ = run("check", site_url)  # piped: JSON without asking
    assert code == 0
    assert json.loads(out)[0]["up"] is True


def test_registered_site_by_name_uses_its_options(home: Path, site_url: str) -> None:
    assert run("client", "add", "Bäckerei")[0] == 0
    added = run(
        "site",
        "add",
        site_url,
        "--client",
        "Bäckerei",
        "--name",
        "bakery",
        "--keyword",
        "croissant",
    )
    assert added[0] == 0
    code, out, _ = run("check", "--json", "bakery")
    assert code == 1
    (result,) = json.loads(out)
    assert result["site"] == "bakery"
    assert result["error"] == "keyword_missing"
    # With no argument every registered site is checked.
    code, out, _ = run("check", "--json")
    assert [r["site"] for r in json.loads(out)] == ["bakery"]


@pytest.mark.parametrize("args", [["not-a-site"], ["http://"], ["--concurrency", "0"]])
def test_bad_usage_exits_2(home: Path, args: list[str]) -> None:
    code, out, err = run("check", *args)
    assert code == 2
    assert out == ""
