"""The workers page: the serve processes sharing this database, as ``sitekeeper workers``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sitekeeper.store.workers import list_workers
from sitekeeper.web.auth import Admin, now
from sitekeeper.web.common import Db
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/settings/workers")
def workers_page(request: Request, session: Db, who: Admin) -> HTMLResponse:
    """Every process with its role, location, queues, version, heartbeat and jobs."""
    return page(request, "workers.html", who, workers=list_workers(session, now()))
