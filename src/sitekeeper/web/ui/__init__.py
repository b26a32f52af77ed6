"""Server-rendered pages (Jinja2 + htmx) for staff and client users."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def _mount(app: FastAPI, router: APIRouter) -> None:
    """Add the router's routes to the app as they are (full paths, a flat ``app.routes``).

    ``include_router`` nests routers in recent FastAPI versions; a flat list keeps
    the OpenAPI filter and the test that enumerates every route simple.
    """
    app.router.routes.extend(router.routes)


def include(app: FastAPI) -> None:
    """Mount every page router on ``app``."""
    from sitekeeper.web.ui.admin import router as admin  # noqa: PLC0415 - avoid import cycles
    from sitekeeper.web.ui.business import router as business  # noqa: PLC0415
    from sitekeeper.web.ui.fleet import router as fleet  # noqa: PLC0415
    from sitekeeper.web.ui.login import router as login  # noqa: PLC0415
    from sitekeeper.web.ui.passwords import router as passwords  # noqa: PLC0415
    from sitekeeper.web.ui.reports import router as reports  # noqa: PLC0415
    from sitekeeper.web.ui.security import router as security  # noqa: PLC0415
    from sitekeeper.web.ui.site_ssh import router as site_ssh  # noqa: PLC0415
    from sitekeeper.web.ui.sites import router as sites  # noqa: PLC0415
    from sitekeeper.web.ui.status_page import router as status  # noqa: PLC0415
    from sitekeeper.web.ui.updates import router as updates  # noqa: PLC0415
    from sitekeeper.web.ui.workers_page import router as workers  # noqa: PLC0415

    routers = (login, fleet, sites, site_ssh, updates, business, reports, admin, passwords, status)
    for router in routers:
        _mount(app, router)
    _mount(app, security)
    _mount(app, workers)
