"""/api/openapi.json and /api/docs, behind login like everything else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from sitekeeper.web.auth import AnyUser

router = APIRouter(prefix="/api", include_in_schema=False)


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
    """Swagger UI for trying the API with your session."""
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="sitekeeper API")
