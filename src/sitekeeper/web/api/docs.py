"""/api/openapi.json and /api/docs, behind login like everything else.

Swagger UI is served from /static/swagger (swagger-ui-dist, vendored; see
docs/architecture.md), so the docs work offline and under the app's strict CSP.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from sitekeeper.web.auth import AnyUser

router = APIRouter(prefix="/api", include_in_schema=False)

# Only our own files: the bundle and styles of swagger-ui-dist, and the script that starts it.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{csrf}">
<title>sitekeeper API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def api_schema(request: Request) -> dict[str, Any]:
    """The OpenAPI document of the /api routes only (pages are not an API)."""
    app = request.app
    if getattr(app.state, "api_schema", None) is None:
        from fastapi.openapi.utils import get_openapi  # noqa: PLC0415 - built once, lazily

        routes = [r for r in app.routes if getattr(r, "path", "").startswith("/api/")]
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=routes
        )
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
        }
        schema["security"] = [{"bearer": []}]
        app.state.api_schema = schema
    result: dict[str, Any] = app.state.api_schema
    return result


@router.get("/openapi.json")
def openapi(request: Request, who: AnyUser) -> JSONResponse:
    """The OpenAPI schema."""
    return JSONResponse(api_schema(request))


@router.get("/docs")
def docs(who: AnyUser) -> HTMLResponse:
    """Swagger UI for trying the API with your session (its CSRF token rides along)."""
    return HTMLResponse(_PAGE.format(csrf=escape(who.csrf or "")))
