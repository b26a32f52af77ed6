"""Request bodies are capped and their senders authenticated before a byte is read.

Raw sockets, because the point is *when* the server answers: before the client has
sent the body it announced (so nothing was read), or as soon as a streamed body
passes the cap. One test runs uvicorn in a child process and watches its memory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, _free_port, csrf_of, login

MiB = 1024 * 1024


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: sitekeeper.test",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and the answer: its head, and its body by Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
         if line.startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, head + b"\r\n\r\n" + body


def _stream(sock: socket.socket, total: int, chunk: int = MiB) -> int:
    """Send ``total`` bytes as chunked encoding until the server stops taking them."""
    sent = 0
    piece = b"x" * chunk
    try:
        while sent < total:
            sock.sendall(f"{chunk:x}\r\n".encode() + piece + b"\r\n")
            sent += chunk
        sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


JSON = {"Content-Type": "application/json"}


def test_an_anonymous_body_is_refused_before_it_is_sent(live: Live) -> None:
    """Declared sizes under and over the cap, and a chunked body: the answer comes while the
    client has not sent one byte of the body (the server cannot have read it)."""
    for headers, expected in (
        ({**JSON, "Content-Length": str(300 * MiB)}, 413),
        ({**JSON, "Content-Length": "100"}, 401),
        ({**JSON, "Transfer-Encoding": "chunked"}, 401),
    ):
        with _connect(live.base) as sock:
            sock.sendall(_head("/api/clients", headers))
            status, data = _answer(sock)
        assert status == expected, data
    with _connect(live.base) as sock:  # a page: to the login form, as for a GET
        sock.sendall(
            _head(
                "/clients",
                {"Content-Length": "10", "Content-Type": "application/x-www-form-urlencoded"},
            )
        )
        status, data = _answer(sock)
    assert status == 303 and b"location: /login?next=%2Fclients" in data


def test_a_logged_in_body_over_the_cap_gets_413_and_under_it_works(
    live: Live, world: World
) -> None:
    token = {"Authorization": f"Bearer {world.admin_token}"}
    with _connect(live.base) as sock:
        sock.sendall(_head("/api/clients", {**JSON, **token, "Content-Length": str(2 * MiB)}))
        status, data = _answer(sock)
    assert status == 413 and b"request_entity_too_large" in data
    with _connect(live.base) as sock:
        sock.sendall(_head("/api/clients", {**JSON, **token, "Transfer-Encoding": "chunked"}))
        sent = _stream(sock, 64 * MiB)
        status, data = _answer(sock)
    assert status == 413, data
    assert sent < 64 * MiB, "the server stopped taking the body once it passed the cap"
    ok = httpx.post(
        live.base + "/api/clients", json={"name": "Initech", "notes": "n" * 9_000}, headers=token
    )
    assert ok.status_code == 201, ok.text


def test_the_login_form_and_uploads_have_their_own_caps(live: Live, world: World) -> None:
    big = httpx.post(live.base + "/login", data={"email": "a@b.example", "password": "p" * 70_000})
    assert big.status_code == 413
    ada = login(live.base, "ada@agency.example")
    form = ada.post(
        "/clients", data={"name": "Big", "notes": "n" * (2 * MiB), "csrf_token": csrf_of(ada)}
    )
    assert form.status_code == 413
    # A site import may be larger than a JSON body (16 MiB by default): 2 MiB gets through
    # the gate and is judged by the importer.
    rows = "url,name\n" + "".join(f"https://s{i}.example/,s{i}\n" for i in range(80_000))
    assert len(rows) > 2 * MiB
    imported = httpx.post(
        live.base + "/api/sites/import?dry_run=true",
        content=rows,
        headers={"Authorization": f"Bearer {world.admin_token}", "Content-Type": "text/csv"},
        timeout=120,
    )
    assert imported.status_code != 413, imported.text


SERVER = """
import sys, uvicorn
from sitekeeper.config import Settings
from sitekeeper.store.database import Database
from sitekeeper.web.app import create_app
db = Database(sys.argv[1])
app = create_app(db, Settings(home=sys.argv[2], database_url=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def uvicorn_child(sqlite_db: Database, site_world: World, tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn in a process of its own, so its memory can be watched."""
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, sqlite_db.url, str(tmp_path / "home"), str(port)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/login", timeout=5)
                break
            except httpx.TransportError:
                assert child.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.1)
        yield f"{base}#{child.pid}"
    finally:
        child.terminate()
        child.wait(30)


def test_streaming_hundreds_of_megabytes_does_not_grow_the_server(
    uvicorn_child: str, site_world: World
) -> None:
    base, pid = uvicorn_child.split("#")
    before = _rss(int(pid))
    token = {"Authorization": f"Bearer {site_world.admin_token}"}
    for headers in ({}, token):
        with _connect(base) as sock:
            sock.sendall(_head("/api/clients", {**JSON, **headers, "Transfer-Encoding": "chunked"}))
            _stream(sock, 300 * MiB)
            status, data = _answer(sock)
        assert status == (413 if headers else 401), data
    grown = _rss(int(pid)) - before
    assert grown < 32 * MiB, f"the server grew by {grown / MiB:.0f} MiB"
