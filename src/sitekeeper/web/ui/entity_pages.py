"""One create/detail/update/delete flow for the business objects' pages (clients, plans,
contracts): a list with the add form, a detail page with the edit form, removal.

Each entity gives its declaration, its store calls and what else its pages show; the
routes, the form handling (400 and the form again with the store's reason when it refuses)
and the redirects are written once, here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from sitekeeper.errors import UsageError
from sitekeeper.web.auth import Staff, Viewer
from sitekeeper.web.common import MAX_ID, Db, Id
from sitekeeper.web.ui.forms import Choices, Sent, form_fields, form_values
from sitekeeper.web.ui.render import page

T = TypeVar("T")
Context = dict[str, Any]


def _nothing(*_args: Any) -> Context:
    return {}


def _no_choices(_session: Session, _who: Viewer) -> Choices:
    return {}


@dataclass(frozen=True)
class EntityPages(Generic[T]):
    """The pages of one entity under ``/{plural}``; templates ``{plural}.html`` (list and
    add form) and ``{name}.html`` (detail and edit form) get the object as ``{name}``."""

    name: str
    plural: str
    model: type[BaseModel]
    find: Callable[[Session, Viewer, int], T]
    ident: Callable[[T], int]
    stored: Callable[[T], Mapping[str, Any]]
    add: Callable[[Request, Session, dict[str, Any]], T]
    update: Callable[[Request, Session, T, dict[str, Any]], object]
    remove: Callable[[Request, Session, T], object]
    list_context: Callable[[Request, Session, Viewer], Context] = _nothing
    detail_context: Callable[[Request, Session, Viewer, T], Context] = _nothing
    choices: Callable[[Session, Viewer], Choices] = _no_choices
    new_values: Callable[[], Mapping[str, Any]] = dict  # the add form's values (a start: today)
    reader: Any = field(default=Staff)  # who may see the list and the detail page

    def list_page(
        self,
        request: Request,
        session: Session,
        who: Viewer,
        *,
        sent: Mapping[str, str] | None = None,
        error: str | None = None,
    ) -> HTMLResponse:
        """The list and the add form (with what was sent, when the store refused it)."""
        inputs = form_fields(
            self.model, self.new_values(), sent=sent, choices=self.choices(session, who)
        )
        return page(
            request,
            f"{self.plural}.html",
            who,
            status=400 if error else 200,
            error=error,
            fields=inputs,
            **self.list_context(request, session, who),
        )

    def detail_page(
        self,
        request: Request,
        session: Session,
        who: Viewer,
        obj: T,
        *,
        error: str | None = None,
        **extra: Any,
    ) -> HTMLResponse:
        """One object and its edit form (400 with the reason when the store refused)."""
        inputs = form_fields(
            self.model,
            self.stored(obj),
            choices=self.choices(session, who),
            editing=True,
        )
        return page(
            request,
            f"{self.name}.html",
            who,
            status=400 if error else 200,
            error=error,
            fields=inputs,
            **{self.name: obj},
            **self.detail_context(request, session, who, obj),
            **extra,
        )

    def register(self, router: APIRouter) -> None:
        """The five routes: list, create, detail, update, delete."""
        base = f"/{self.plural}"

        def list_(request: Request, session: Db, who: Viewer) -> HTMLResponse:
            return self.list_page(request, session, who)

        def create(request: Request, session: Db, who: Staff, sent: Sent) -> Response:
            try:
                with session.begin_nested():
                    obj = self.add(request, session, form_values(self.model, sent))
            except UsageError as exc:
                return self.list_page(request, session, who, sent=sent, error=str(exc))
            return RedirectResponse(f"{base}/{self.ident(obj)}", status_code=303)

        def detail(request: Request, obj_id: Id, session: Db, who: Viewer) -> HTMLResponse:
            return self.detail_page(request, session, who, self.find(session, who, obj_id))

        def update(request: Request, obj_id: Id, session: Db, who: Staff, sent: Sent) -> Response:
            obj = self.find(session, who, obj_id)
            try:
                with session.begin_nested():
                    self.update(request, session, obj, form_values(self.model, sent, editing=True))
            except UsageError as exc:
                session.refresh(obj)
                return self.detail_page(request, session, who, obj, error=str(exc))
            return RedirectResponse(f"{base}/{obj_id}", status_code=303)

        def delete(request: Request, obj_id: Id, session: Db, who: Staff) -> Response:
            obj = self.find(session, who, obj_id)
            try:
                with session.begin_nested():
                    self.remove(request, session, obj)
            except UsageError as exc:
                return self.detail_page(request, session, who, obj, error=str(exc))
            return RedirectResponse(base, status_code=303)

        # Reading may be open to more viewers (a client user sees its contracts); the id in
        # the path is named after the entity (/plans/{plan_id}), as everywhere else.
        list_.__annotations__["who"] = self.reader
        detail.__annotations__["who"] = self.reader
        key = f"{self.name}_id"
        obj_id = Annotated[int, Path(alias=key, ge=1, le=MAX_ID)]
        for handler in (detail, update, delete):
            handler.__annotations__["obj_id"] = obj_id
        list_.__doc__ = f"Every {self.name} and the add form."
        create.__doc__ = f"Add a {self.name}."
        detail.__doc__ = f"One {self.name} and its edit form."
        update.__doc__ = f"Save a {self.name}."
        delete.__doc__ = f"Remove a {self.name} (the page says why not, if it cannot go)."
        router.get(base)(list_)
        router.post(base)(create)
        one = f"{base}/{{{key}}}"
        router.get(one)(detail)
        router.post(one)(update)
        router.post(f"{one}/delete")(delete)
