"""A loopback stand-in for WordPress.org's download server and checksums APIs, serving the
real packages of /var/cache/sitekeeper-test-packages (``shared/packages/wordpress-debian.sh``).

Paths are the vendor's: ``/release/wordpress-V.zip``, ``/plugin/S.V.zip``,
``/theme/S.V.zip``, ``/plugin-checksums/S/V.json`` (from ``S.V.checksums.json``) and
``/core/checksums/1.0/?version=V&locale=en_US`` (from ``checksums-V-en_US.json``; an unknown
version answers ``{"checksums": false}`` as the API does). A test adds packages it built
(a broken release, a wrong top folder) with :meth:`Vendor.add`; versions are read from
``versions.json``, never typed in, since Debian moves them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.services import REQUIRE

PACKAGES = Path(os.environ.get("SITEKEEPER_TEST_PACKAGES", "/var/cache/sitekeeper-test-packages"))


def need_packages() -> Path:
    """The packages folder, or a skip (a failure under SITEKEEPER_REQUIRE_SERVICES=1)."""
    if not (PACKAGES / "versions.json").is_file():
        reason = (
            f"no real WordPress packages in {PACKAGES}: run "
            "`bash shared/packages/wordpress-debian.sh /var/cache/sitekeeper-test-packages`"
        )
        if REQUIRE:
            pytest.fail(f"{reason} (SITEKEEPER_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)
    return PACKAGES


def versions() -> dict[str, Any]:
    """The first (older) core release of versions.json: its version, db version and the
    Akismet and theme it bundles."""
    data = json.loads((need_packages() / "versions.json").read_text(encoding="utf-8"))
    return dict(data["core"][0])


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Vendor:
    """The running server: ``url`` is both the downloads and the API base."""

    url: str = ""
    extra: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def add(self, path: str, body: bytes) -> None:
        """Serve ``body`` at ``path`` (a test's own package or checksums)."""
        self.extra[path] = body

    @property
    def settings(self) -> dict[str, str]:
        """The vendor settings (``FeedSettings.vendor``) that point WordPress here."""
        return {"wordpress_api_url": self.url, "wordpress_downloads_url": self.url}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        if request.path in self.extra:
            return web.Response(body=self.extra[request.path])
        if request.path == "/core/checksums/1.0/":
            version = request.query.get("version", "")
            key = f"/core/checksums/{version}"
            if key in self.extra:
                return web.Response(body=self.extra[key])
            found = PACKAGES / f"checksums-{version}-{request.query.get('locale')}.json"
            if "/" not in version and found.is_file():
                return web.FileResponse(found)
            return web.json_response({"checksums": False})
        path = self.file_for(request.path)
        if path is None or not path.is_file():
            return web.json_response({"error": "Not found"}, status=404)
        return web.FileResponse(path)

    def file_for(self, path: str) -> Path | None:
        parts = path.strip("/").split("/")
        if ".." in parts or len(parts) < 2:
            return None
        if parts[0] in ("release", "plugin", "theme") and len(parts) == 2:
            return PACKAGES / parts[1]
        if parts[0] == "plugin-checksums" and len(parts) == 3:
            return PACKAGES / f"{parts[1]}.{parts[2].removesuffix('.json')}.checksums.json"
        return None


async def start_vendor() -> tuple[Vendor, web.AppRunner]:
    """The vendor's servers on a loopback port, and the runner that stops them."""
    served = Vendor()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"http://127.0.0.1:{port}"
    return served, runner


@pytest.fixture
async def vendor() -> AsyncIterator[Vendor]:
    """The vendor's servers on a loopback port."""
    need_packages()
    served, runner = await start_vendor()
    try:
        yield served
    finally:
        await runner.cleanup()
