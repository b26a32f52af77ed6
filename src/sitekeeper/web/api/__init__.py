"""REST API under /api: the CLI's objects and history as JSON, with OpenAPI docs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def _mount(app: FastAPI, router: APIRouter) -> None:
    """Add the router's routes to the app as they are (full paths, a flat ``app.routes``).

    ``include_router`` nests routers in recent FastAPI versions; a flat list keeps
    the OpenAPI filter and the test that enumerates every route simple.
    """
    app.router.routes.extend(router.routes)


def include(app: FastAPI) -> None:
    """Mount every API router on ``app``."""
    from sitekeeper.web.api.account import router as account  # noqa: PLC0415 - import cycles
    from sitekeeper.web.api.acknowledgements import router as acknowledgements  # noqa: PLC0415
    from sitekeeper.web.api.actions import router as actions  # noqa: PLC0415
    from sitekeeper.web.api.backup_repos import router as backup_repos  # noqa: PLC0415
    from sitekeeper.web.api.backups import router as backups  # noqa: PLC0415
    from sitekeeper.web.api.docs import router as docs  # noqa: PLC0415
    from sitekeeper.web.api.history import router as history  # noqa: PLC0415
    from sitekeeper.web.api.objects import router as objects  # noqa: PLC0415
    from sitekeeper.web.api.reports import router as reports  # noqa: PLC0415
    from sitekeeper.web.api.sites import router as sites  # noqa: PLC0415
    from sitekeeper.web.api.software import router as software  # noqa: PLC0415
    from sitekeeper.web.api.tasks import router as tasks  # noqa: PLC0415
    from sitekeeper.web.api.updates import router as updates  # noqa: PLC0415
    from sitekeeper.web.api.users import router as users  # noqa: PLC0415
    from sitekeeper.web.api.work import router as work  # noqa: PLC0415

    for router in (
        *(actions, sites, software, backups, backup_repos, objects, tasks),
        *(updates, history, users, account, docs, work, reports),
    ):
        _mount(app, router)
    _mount(app, acknowledgements)
