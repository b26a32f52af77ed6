"""A loopback feed server: serves vendor-format bodies with ETag/Last-Modified, logs requests.

Bodies are set per path (query strings included) and can be changed, removed or
made to fail while the server runs, so tests see exactly what a client sends.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Logged:
    """One request as the server saw it."""

    method: str
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int


@dataclass
class FeedServer:
    """What is served, and what was asked."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    failing: dict[str, int] = field(default_factory=dict)  # path -> status to answer
    log: list[Logged] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def serve_dir(self, prefix: str, root: Path) -> None:
        """Every file under ``root`` at ``prefix/<relative path>``."""
        for path in root.rglob("*"):
            if path.is_file():
                self.bodies[f"{prefix}/{path.relative_to(root).as_posix()}"] = path.read_bytes()

    def hits(self, path: str) -> list[Logged]:
        return [entry for entry in self.log if entry.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.path_qs
        status = self.failing.get(key) or self.failing.get(request.path)
        body = self.bodies.get(key, self.bodies.get(request.path))
        inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
        if status is None and body is None:
            status = 404
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"' if body is not None else None
        if status is None and etag is not None and inm == etag:
            status = 304
        self.log.append(Logged(request.method, key, inm, ims, status or 200))
        if status == 304:
            return web.Response(status=304, headers={"ETag": etag or ""})
        if status is not None:
            return web.Response(status=status, body=body if status == 404 and body else b"")
        assert body is not None and etag is not None
        return web.Response(body=body, headers={"ETag": etag, "Last-Modified": LAST_MODIFIED})


@asynccontextmanager
async def feed_server(host: str = "127.0.0.1") -> AsyncIterator[FeedServer]:
    """Run a FeedServer on a free loopback port."""
    server = FeedServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    server.base = f"http://{host}:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()
