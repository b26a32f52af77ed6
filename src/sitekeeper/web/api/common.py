"""Shared pieces of the API: error and pagination shapes, sessions, scoping helpers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Site
from sitekeeper.vault import Vault
from sitekeeper.web.auth import Viewer, database

T = TypeVar("T")


class ErrorDetail(BaseModel):
    """What went wrong, in a stable code and a sentence."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every API error has this shape."""

    error: ErrorDetail


class PageMeta(BaseModel):
    """Where a page sits in the whole list."""

    page: int
    per_page: int
    total: int
    pages: int


class Page(BaseModel, Generic[T]):
    """A page of items and its metadata."""

    items: list[T]
    meta: PageMeta


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not logged in / bad token"},
    404: {"model": ErrorBody, "description": "Not found (or not yours)"},
    422: {"model": ErrorBody, "description": "Invalid input"},
}


def vault_of(request: Request) -> Vault:
    """The app's vault (secrets at rest), set up once by create_app."""
    found: Vault = request.app.state.vault
    return found


def default_interval(request: Request) -> int:
    """Seconds between checks for a site whose plan sets no interval."""
    return int(request.app.state.settings.default_check_interval)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """An error in the usual shape, returned rather than raised: the request's transaction
    still commits (e.g. a counted failed password guess)."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error."""
    with database(request).session() as session:
        yield session


# "function": commit before the response leaves, so a redirect never shows stale data.
Db = Annotated[Session, Depends(db_session, scope="function")]
MAX_ID = 2_147_483_647  # ids are 32-bit on both dialects; larger ones cannot exist
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=500, description="Items per page")]


def parse_id(text: str) -> int | None:
    """A form field's id, or None when it is empty, not a number or out of range."""
    value = text.strip()
    if not value.isdigit() or len(value) > 10 or not 1 <= int(value) <= MAX_ID:
        return None
    return int(value)


def meta(total: int, page: int, per_page: int) -> PageMeta:
    """Pagination metadata for ``total`` items."""
    return PageMeta(page=page, per_page=per_page, total=total, pages=max(1, -(-total // per_page)))


def slice_page(items: Sequence[T], page: int, per_page: int) -> tuple[list[T], PageMeta]:
    """One page of an in-memory list (for the small lists: clients, plans, contracts)."""
    start = (page - 1) * per_page
    return list(items[start : start + per_page]), meta(len(items), page, per_page)


def visible_site(session: Session, who: Viewer, site_id: int) -> Site:
    """The site if this viewer may see it; 404 otherwise (whether or not it exists)."""
    site = session.get(Site, site_id)
    scope = who.client_scope
    if site is None or (scope is not None and site.client_id != scope):
        raise HTTPException(404, f"no site {site_id}")
    return site
