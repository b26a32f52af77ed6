"""What the pages (web/ui) and the API (web/api) both need: the request's session, ids,
the app's vault and settings, the viewer's scope on stored objects, queueing a task.

Neither side imports the other; both import this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlalchemy.orm import Session

from sitekeeper.engine import dispatch
from sitekeeper.engine.tasks import validate_params
from sitekeeper.store import tasks as task_store
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Client, Contract, Plan, Site
from sitekeeper.store.task_tables import Task
from sitekeeper.vault import Vault
from sitekeeper.web.auth import Viewer, database, now

Scoped = TypeVar("Scoped", Site, Client, Contract)


# A stored or previewed report shown as a document of its own: no script, no form, no same
# origin with the dashboard; its styles, images and fonts are inline (data:).
REPORT_SANDBOX = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
)


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error."""
    with database(request).session() as session:
        yield session


# "function": commit before the response leaves, so a redirect never shows stale data.
Db = Annotated[Session, Depends(db_session, scope="function")]
MAX_ID = 2_147_483_647  # ids are 32-bit on both dialects; larger ones cannot exist
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def parse_id(text: str) -> int | None:
    """A form field's id, or None when it is empty, not a number or out of range."""
    value = text.strip()
    if not value.isdigit() or len(value) > 10 or not 1 <= int(value) <= MAX_ID:
        return None
    return int(value)


def vault_of(request: Request) -> Vault:
    """The app's vault (secrets at rest), set up once by create_app."""
    found: Vault = request.app.state.vault
    return found


def default_interval(request: Request) -> int:
    """Seconds between checks for a site whose plan sets no interval."""
    return int(request.app.state.settings.default_check_interval)


def _visible(
    session: Session,
    who: Viewer,
    table: type[Scoped],
    obj_id: int,
    owner: Callable[[Scoped], int | None],
) -> Scoped:
    """The object if this viewer may see it (staff: all; a client user: its client's);
    404 otherwise, whether or not it exists."""
    found = session.get(table, obj_id)
    scope = who.client_scope
    if found is None or (scope is not None and owner(found) != scope):
        raise HTTPException(404, f"no {table.__name__.lower()} {obj_id}")
    return found


def visible_site(session: Session, who: Viewer, site_id: int) -> Site:
    """The site if this viewer may see it; 404 otherwise (whether or not it exists)."""
    return _visible(session, who, Site, site_id, lambda site: site.client_id)


def visible_client(session: Session, who: Viewer, client_id: int) -> Client:
    """The client if the viewer may see it; 404 otherwise."""
    return _visible(session, who, Client, client_id, lambda client: client.id)


def visible_contract(session: Session, who: Viewer, contract_id: int) -> Contract:
    """The contract if the viewer may see it; 404 otherwise."""
    return _visible(session, who, Contract, contract_id, lambda contract: contract.client_id)


def plan_or_404(session: Session, plan_id: int) -> Plan:
    """The plan; 404 otherwise (plans are staff-only, so no client scope applies)."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise HTTPException(404, f"no plan {plan_id}")
    return plan


def wake_worker(request: Request) -> None:
    """Tell this process's task runner (if it runs here) to claim now, not at its next poll."""
    wake = getattr(request.app.state, "wake_tasks", None)
    if callable(wake):
        wake()


def queue_task(
    request: Request,
    session: Session,
    who: Viewer,
    kind: str,
    *,
    site: Site | None,
    params: dict[str, Any],
) -> Task:
    """Validate the parameters, queue the task (or find the site's active one), wake a worker."""
    clean = validate_params(kind, params)
    task, created = task_store.enqueue(
        session,
        kind,
        site_id=site.id if site is not None else None,
        params=clean,
        requested_by=who.user_id,
        now=now(),
    )
    if created:
        # PostgreSQL: its job, committed with the row
        dispatch.defer(session, task, server_parallel=request.app.state.settings.server_parallel)
    session.commit()  # before the wake-up: the worker must see the row
    wake_worker(request)
    return task


def visible_finding(session: Session, who: Viewer, finding_id: int) -> Finding:
    """The finding if this viewer may see its site; 404 otherwise (whether or not it exists)."""
    found = session.get(Finding, finding_id)
    if found is None:
        raise HTTPException(404, f"no finding {finding_id}")
    try:
        visible_site(session, who, found.site_id)
    except HTTPException:
        raise HTTPException(404, f"no finding {finding_id}") from None
    return found
