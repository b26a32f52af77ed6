"""The dashboard application: REST API under /api, server-rendered pages everywhere else.

Errors have one shape per audience: the API answers
``{"error": {"code": ..., "message": ...}}``, pages render ``error.html``, and
anonymous visitors are sent to /login (pages) or get 401 (API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from sitekeeper.config import Settings
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault
from sitekeeper.web import api, ui
from sitekeeper.web.auth import NotAuthenticated
from sitekeeper.web.gate import BodyCaps, RequestGate
from sitekeeper.web.ui.render import render_error

STATIC = Path(__file__).parent / "static"


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _anonymous(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            response = _error(401, "unauthorized", str(exc))
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if _is_api(request):
            response: Response = _error(exc.status_code, _code(exc.status_code), str(exc.detail))
        else:
            response = render_error(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        if _is_api(request):
            return _error(422, "invalid_request", problems or "invalid request")
        return render_error(request, 400, problems or "invalid request")

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return _error(404, "not_found", str(exc))
        return render_error(request, 404, str(exc))

    @app.exception_handler(UsageError)
    async def _usage(request: Request, exc: UsageError) -> Response:
        if _is_api(request):
            return _error(422, "invalid", str(exc))
        return render_error(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Logged by the server; the client gets the usual shape, never a traceback.
        if _is_api(request):
            return _error(500, "internal_error", "unexpected error; see the server log")
        return render_error(request, 500, "Unexpected error; see the server log.")

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> Response:
        message = "a concurrent change conflicts with this one (or it is still in use)"
        if _is_api(request):
            return _error(409, "conflict", message)
        return render_error(request, 409, message)


# Every page, /api/docs included (Swagger UI is vendored), loads only our own files.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def _install_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", _CSP)
        if not request.url.path.startswith("/static/"):
            # Pages and API answers are per user: never from a shared cache.
            headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(db: Database, settings: Settings) -> FastAPI:
    """The dashboard for ``db``; pass the same Database the engine uses (one pool per process)."""
    app = FastAPI(
        title="sitekeeper",
        version="1",
        summary="Website maintenance for agencies: fleet, clients, plans, contracts, history.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.vault = Vault.from_home(settings.home, settings.secret_key)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_error_handlers(app)
    # Before any route reads it, a body is capped and its sender authenticated. Inside the
    # security headers (added next, so outer), which then mark the gate's answers too.
    app.add_middleware(RequestGate, db=db, caps=BodyCaps.from_settings(settings))
    _install_headers(app)
    api.include(app)
    ui.include(app)
    return app
