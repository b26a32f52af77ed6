"""/api/users: dashboard accounts, for admins (what ``sitekeeper user ...`` does, over HTTP).

Like every admin-only route, a client user gets 404 and a technician 403
(``web.auth.admin``). The rules (roles, the client binding, password length,
keeping one active admin) live in ``store.users``, shared with the CLI.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.orm import Session

from sitekeeper.errors import UsageError
from sitekeeper.store import users
from sitekeeper.store.web_tables import ApiToken, User
from sitekeeper.web.api.common import ERRORS, Page, PageNo, PerPage, slice_page
from sitekeeper.web.api.user_schemas import (
    TokenCreated,
    TokenIn,
    TokenOut,
    UserCreated,
    UserIn,
    UserOut,
    UserPatch,
)
from sitekeeper.web.auth import Admin, Viewer, now, own_session
from sitekeeper.web.common import Db, Id

router = APIRouter(prefix="/api", tags=["users"], responses=ERRORS)


def user_out(user: User) -> UserOut:
    """The API shape of a user."""
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        client_id=user.client_id,
        client=user.client.name if user.client else None,
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def token_out(row: ApiToken) -> TokenOut:
    """The API shape of a token (never its secret)."""
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


def lifetime(body: TokenIn) -> timedelta | None:
    """How long a token asked for in ``body`` lives."""
    return timedelta(days=body.expires_in_days) if body.expires_in_days else None


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    return user


def _not_yourself(who: Viewer, user: User, what: str) -> None:
    """An admin locking itself out mid-request helps nobody: another admin must do it."""
    if user.id == who.user_id:
        raise UsageError(f"you cannot {what} yourself: ask another admin")


@router.get("/users", response_model=Page[UserOut])
def list_users(session: Db, who: Admin, page: PageNo = 1, per_page: PerPage = 50) -> Page[UserOut]:
    """Every user, by e-mail."""
    items, info = slice_page(users.list_users(session), page, per_page)
    return Page[UserOut](items=[user_out(u) for u in items], meta=info)


@router.post("/users", response_model=UserCreated, status_code=201)
def create_user(body: UserIn, session: Db, who: Admin) -> UserCreated:
    """Add a user; without ``password`` one is generated and returned in this answer only."""
    values = body.model_dump()
    generated = users.generate_password() if values["password"] is None else None
    user = users.add_user(
        session, now=now(), **{**values, "password": values["password"] or generated}
    )
    return UserCreated(**user_out(user).model_dump(), password=generated)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: Id, session: Db, who: Admin) -> UserOut:
    """One user."""
    return user_out(_user(session, user_id))


@router.patch("/users/{user_id}", response_model=UserCreated)
def update_user(
    *, user_id: Id, body: UserPatch, request: Request, session: Db, who: Admin
) -> UserCreated:
    """Change role, client or ``active``; set or reset the password (ends its sessions and
    revokes its API tokens unless ``keep_tokens``)."""
    user = _user(session, user_id)
    values = body.model_dump()
    asked, reset, keep = (
        values.pop("password"),
        values.pop("reset_password"),
        values.pop("keep_tokens"),
    )
    if asked is not None and reset:
        raise UsageError("give either password or reset_password, not both")
    if (values["role"] is not None and values["role"] != user.role) or values["active"] is False:
        _not_yourself(who, user, "demote or disable")
    users.update_user(session, user, **values)
    generated = users.generate_password() if reset else None
    password = asked if asked is not None else generated
    revoked = None
    if password is not None:
        yours = user.id == who.user_id
        revoked = users.set_password(
            session,
            user,
            password,
            keep_session=own_session(request, who),
            keep_token=who.token_id if yours else None,
            keep_tokens=keep,
        )
    return UserCreated(**user_out(user).model_dump(), password=generated, tokens_revoked=revoked)


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: Id, session: Db, who: Admin) -> Response:
    """Remove a user with its sessions and tokens (not yourself, never the last admin)."""
    user = _user(session, user_id)
    _not_yourself(who, user, "remove")
    users.remove_user(session, user)
    return Response(status_code=204)


@router.post("/users/{user_id}/tokens", response_model=TokenCreated, status_code=201)
def create_user_token(*, user_id: Id, body: TokenIn, session: Db, who: Admin) -> TokenCreated:
    """An API token acting as this user (``sitekeeper user token``), e.g. for a script's
    own account that never logs in; shown only in this answer."""
    user = _user(session, user_id)
    raw, row = users.create_token(session, user, body.name, now(), expires_in=lifetime(body))
    return TokenCreated(**token_out(row).model_dump(), token=raw)


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
def list_user_tokens(user_id: Id, session: Db, who: Admin) -> list[TokenOut]:
    """The user's API tokens, newest first (never their secrets)."""
    return [token_out(t) for t in users.list_tokens(session, _user(session, user_id))]


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=204)
def revoke_user_token(user_id: Id, token_id: Id, session: Db, who: Admin) -> Response:
    """Revoke one of the user's tokens (``sitekeeper user revoke-token``)."""
    users.revoke_token(session, _user(session, user_id), token_id)
    return Response(status_code=204)
