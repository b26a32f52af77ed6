"""The API's own shapes: errors and pagination (what pages share with it is in web/common)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """An error in the usual shape, returned rather than raised: the request's transaction
    still commits (e.g. a counted failed password guess)."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


PageNo = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=500, description="Items per page")]


def meta(total: int, page: int, per_page: int) -> PageMeta:
    """Pagination metadata for ``total`` items."""
    return PageMeta(page=page, per_page=per_page, total=total, pages=max(1, -(-total // per_page)))


def slice_page(items: Sequence[T], page: int, per_page: int) -> tuple[list[T], PageMeta]:
    """One page of an in-memory list (for the small lists: clients, plans, contracts)."""
    start = (page - 1) * per_page
    return list(items[start : start + per_page]), meta(len(items), page, per_page)
