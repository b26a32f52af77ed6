"""The door every request passes before the app sees it: who is asking, and how big the body.

FastAPI reads and parses a JSON or form body before any dependency runs, so an
anonymous client could make the server hold (and parse) anything it sends. This pure
ASGI middleware answers first, without reading a byte of the body:

- a declared ``Content-Length`` over the route's cap is refused with 413 at once;
- a request with a body to anything but the login form must carry a valid session
  cookie or API token, else 401 (pages: a redirect to /login);
- a body sent without a length (chunked) is counted as it streams and refused with
  413 the moment it passes the cap.

The viewer it authenticated is kept in ``scope["state"]`` for ``web.auth.viewer``,
so a request is looked up once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sitekeeper.config import Settings
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.web.auth import VIEWER_STATE, authenticate

LOGIN_CAP = 64 * 1024  # an e-mail, a password, two tokens: far below this
# Requests that need no credentials (the login form); anything else with a body does.
ANONYMOUS = frozenset({("POST", "/login")})


@dataclass(frozen=True, slots=True)
class BodyCaps:
    """The largest body each route takes: ``default`` for JSON and forms, more for uploads."""

    default: int
    routes: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyCaps:
        """Caps from ``SITEKEEPER_MAX_REQUEST_BYTES``, ``_UPLOAD_BYTES`` and ``_IMPORT_BYTES``."""
        # A multipart upload carries its boundaries and headers besides the file.
        upload = settings.max_upload_bytes + 64 * 1024
        return cls(
            settings.max_request_bytes,
            {
                ("POST", "/login"): min(LOGIN_CAP, settings.max_request_bytes),
                ("POST", "/api/advisories/import"): upload,
                ("POST", "/api/sites/import"): settings.max_import_bytes,
            },
        )

    def cap(self, method: str, path: str) -> int:
        """The cap of one route."""
        return self.routes.get((method, path), self.default)


class _TooLarge(HTTPException):
    """Raised from ``receive`` inside the app: its handlers answer 413 in the usual shape."""

    def __init__(self, cap: int) -> None:
        # Close: the rest of the body is not worth receiving just to throw it away.
        super().__init__(
            413, f"the request body is over the {cap}-byte limit", {"Connection": "close"}
        )


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _too_large(path: str, cap: int) -> Response:
    message = f"the request body is over the {cap}-byte limit"
    if _is_api(path):
        error = {"error": {"code": "request_entity_too_large", "message": message}}
        return JSONResponse(error, status_code=413, headers={"Connection": "close"})
    return Response(message, status_code=413, headers={"Connection": "close"})


def _unauthenticated(request: Request) -> Response:
    if _is_api(request.url.path):
        error = {"error": {"code": "unauthorized", "message": "log in or send an API token"}}
        headers = {"WWW-Authenticate": "Bearer", "Connection": "close"}
        return JSONResponse(error, status_code=401, headers=headers)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        f"/login?next={quote(target, safe='')}", status_code=303, headers={"Connection": "close"}
    )


class RequestGate:
    """Pure ASGI middleware: caps bodies and authenticates before the app reads one."""

    def __init__(self, app: ASGIApp, *, db: Database, caps: BodyCaps) -> None:
        self.app = app
        self.lane = DbThread(db)  # its aside lane only: no writer thread to close
        self.caps = caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers and cookies only: ``receive`` is not touched
        method, path = scope["method"], scope["path"]
        cap = self.caps.cap(method, path)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(path, cap)(scope, receive, send)
            return
        has_body = (declared is not None and declared != "0") or (
            "transfer-encoding" in request.headers
        )
        if has_body and (method, path) not in ANONYMOUS:
            who = await self.lane.session_aside(authenticate, request)
            if who is None:
                await _unauthenticated(request)(scope, receive, send)
                return
            scope.setdefault("state", {})[VIEWER_STATE] = who
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, cap), watched)
        except _TooLarge:
            # Raised where no handler answered it (e.g. a middleware reading the body).
            if started:
                raise
            await _too_large(path, cap)(scope, receive, send)


def _counting(receive: Receive, cap: int) -> Receive:
    """``receive``, refusing (413) once the body received passes ``cap`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        if seen > cap:
            raise _TooLarge(cap)
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise _TooLarge(cap)
        return message

    return counted
