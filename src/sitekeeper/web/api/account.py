"""/api/me/tokens and /api/me/password: any user's own API tokens and password.

A token's secret is returned once, on creation; only its SHA-256 is stored.
A password change needs the current password, and wrong guesses are throttled
like logins (a stolen session must not become a stolen account); it ends the other
sessions and revokes the other tokens, unless the user keeps them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sitekeeper.store import users
from sitekeeper.web.api.common import ERRORS, ErrorBody, error_response
from sitekeeper.web.api.user_schemas import PasswordIn, TokenCreated, TokenIn, TokenOut
from sitekeeper.web.api.users import lifetime, token_out
from sitekeeper.web.auth import AnyUser, now, own_session
from sitekeeper.web.common import Db, Id

router = APIRouter(prefix="/api/me", tags=["account"], responses=ERRORS)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: Db, who: AnyUser) -> list[TokenOut]:
    """One's API tokens, newest first."""
    return [token_out(t) for t in users.list_tokens(session, users.get_user(session, who.user_id))]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenIn, session: Db, who: AnyUser) -> TokenCreated:
    """A new token acting as you; ``token`` is in this answer only (copy it now)."""
    user = users.get_user(session, who.user_id)
    raw, row = users.create_token(session, user, body.name, now(), expires_in=lifetime(body))
    return TokenCreated(**token_out(row).model_dump(), token=raw)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, session: Db, who: AnyUser) -> Response:
    """Revoke one of your tokens (someone else's answers 404)."""
    users.revoke_token(session, users.get_user(session, who.user_id), token_id)
    return Response(status_code=204)


@router.post(
    "/password",
    status_code=204,
    responses={
        403: {"model": ErrorBody, "description": "The current password is wrong"},
        429: {"model": ErrorBody, "description": "Too many wrong guesses; see Retry-After"},
    },
)
def change_password(body: PasswordIn, request: Request, session: Db, who: AnyUser) -> Response:
    """Change your password; your other browser sessions are logged out and your other API
    tokens revoked (the token making this request stays), unless ``keep_tokens``."""
    moment = now()
    result = users.change_password(
        session,
        users.get_user(session, who.user_id),
        body.current_password,
        body.new_password,
        moment,
        keep_session=own_session(request, who),
        keep_token=who.token_id,
        keep_tokens=body.keep_tokens,
    )
    if result.outcome is users.PasswordOutcome.WRONG:
        return error_response(403, "wrong_password", "the current password is wrong")
    if result.locked_until is not None:
        minutes = users.wait_minutes(result.locked_until, moment)
        response = error_response(
            429, "too_many_requests", f"too many wrong passwords: try again in {minutes} minutes"
        )
        response.headers["Retry-After"] = str(minutes * 60)
        return response
    return Response(status_code=204)
