"""``/status/<token>``: a client's public status page, and the URL that opens it.

Anyone with the URL may read it, so it carries its own rules: no login and no cookie,
no script and nothing loaded from elsewhere (a CSP that allows only its own inline
stylesheet, by hash), ``noindex`` for search engines, and an unknown, old or malformed
token gets a bare 404 that says nothing (not the dashboard's error page, which links in).

Load: the token is checked on every request (one small query, so turning the page off or
rotating the token takes effect at once), but the page itself, whose daily rows are the
expensive part, is rendered at most once per ``status_page_ttl`` seconds per client and
served from memory in between (to whoever holds the client's current token: a page cached
under an old one is never reached again, and expires); a crowd hitting the page at once
waits on one rendering instead of starting one each.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sitekeeper.reports.public_links import STATUS_PATH
from sitekeeper.store import status_tokens
from sitekeeper.store.status_tokens import client_by_token
from sitekeeper.store.tables import Client
from sitekeeper.web.auth import Staff, database, now
from sitekeeper.web.common import Db, Id, visible_client
from sitekeeper.web.ui.render import TEMPLATES
from sitekeeper.web.ui.status_view import status_view

router = APIRouter(include_in_schema=False)

STYLE = (Path(__file__).parent.parent / "templates" / "status.css").read_text("utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on
    "Cache-Control": "no-store",  # a rotated token must not live on in a cache
}
# Pages kept at once, by count and by size (a 20-site page is about 200 KB); the least
# recently used go first, and expired ones whenever a page is added.
MAX_PAGES = 512
MAX_BYTES = 64 * 1024 * 1024


@dataclass
class PageCache:
    """Rendered pages by client id for ``ttl`` seconds; one rendering at a time per key."""

    ttl: float
    _pages: OrderedDict[int, tuple[float, bytes]] = field(default_factory=OrderedDict)
    _locks: dict[int, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _bytes: int = 0

    def fresh(self, key: int) -> bytes | None:
        """The page for ``key`` if one is fresh (never blocks for long: no rendering)."""
        with self._guard:
            found = self._pages.get(key)
            if found is None or found[0] <= time.monotonic():
                return None
            self._pages.move_to_end(key)
            return found[1]

    def get(self, key: int, render: Callable[[], bytes]) -> bytes:
        """The page for ``key``, rendered by ``render`` if none is fresh."""
        page = self.fresh(key)
        if page is not None:
            return page
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # whoever came first renders; the others find its page
            page = self.fresh(key)
            if page is None:
                page = render()
                self._keep(key, page)
            return page

    def _keep(self, key: int, page: bytes) -> None:
        with self._guard:
            clock = time.monotonic()
            if key in self._pages:
                self._bytes -= len(self._pages.pop(key)[1])
            for old in [k for k, (until, _) in self._pages.items() if until <= clock]:
                self._drop(old)
            self._pages[key] = (clock + self.ttl, page)
            self._bytes += len(page)
            while len(self._pages) > 1 and (
                len(self._pages) > MAX_PAGES or self._bytes > MAX_BYTES
            ):
                self._drop(next(iter(self._pages)))

    def _drop(self, key: int) -> None:
        """Forget another key's page, and its lock unless a rendering holds it (guard held)."""
        self._bytes -= len(self._pages.pop(key)[1])
        lock = self._locks.get(key)
        if lock is not None and not lock.locked():
            del self._locks[key]


def _cache(request: Request) -> PageCache:
    state = request.app.state
    cache: PageCache | None = getattr(state, "status_cache", None)
    if cache is None:
        cache = state.status_cache = PageCache(state.settings.status_page_ttl)
    return cache


def _not_found() -> Response:
    return Response("Not found\n", status_code=404, media_type="text/plain", headers=HEADERS)


def _render(request: Request, client_id: int) -> bytes:
    with database(request).session() as session:
        client = session.get(Client, client_id)
        if client is None:
            return b""
        view = status_view(session, client, now())
    html = TEMPLATES.env.get_template("status.html").render(view=view, style=STYLE)
    return html.encode()


# Anything under /status/ is a token to this page: even a "token" with a slash gets its 404.
@router.get(STATUS_PATH + "{token:path}")
async def status_page(request: Request, token: str) -> Response:
    """A client's public status page; 404 for any token that opens none."""

    def lookup() -> int | None:
        with database(request).session() as session:
            return client_by_token(session, token)

    client_id = await run_in_threadpool(lookup)
    if client_id is None:
        return _not_found()
    cache = _cache(request)
    body = cache.fresh(client_id) or await run_in_threadpool(
        cache.get, client_id, lambda: _render(request, client_id)
    )
    if not body:
        return _not_found()
    return Response(body, media_type="text/html; charset=utf-8", headers=HEADERS)


# --- the staff's switches (the client's page in the dashboard) --------------------------------


@router.post("/clients/{client_id}/status-page")
def switch_status_page(
    client_id: Id,
    session: Db,
    who: Staff,
    action: Annotated[Literal["on", "off", "rotate"], Form()],
) -> RedirectResponse:
    """Turn the client's public page on, off, or to a new URL (the old one 404s at once)."""
    client = visible_client(session, who, client_id)
    if action == "on":
        status_tokens.turn_on(session, client)
    elif action == "rotate":
        status_tokens.rotate(session, client)
    else:
        status_tokens.turn_off(session, client)
    return RedirectResponse(f"/clients/{client.id}#status-page", status_code=303)
