"""Passwords in the dashboard: change one's own (account page), reset a user's (admins).

Both end the user's other browser sessions and revoke its API tokens unless the
form keeps them; the rules (length, throttled guesses of the current password,
what a new password revokes) are ``store.users``'s, the same the CLI and the API follow.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from sitekeeper.errors import UsageError
from sitekeeper.store import users
from sitekeeper.store.web_tables import User
from sitekeeper.web.auth import Admin, AnyUser, now, own_session
from sitekeeper.web.common import Db, Id
from sitekeeper.web.ui.admin import render_account, render_users

router = APIRouter(include_in_schema=False)
Secret = Annotated[str, Form(max_length=1000)]


@router.post("/account/password")
def change_password(
    *,
    request: Request,
    session: Db,
    who: AnyUser,
    current_password: Secret = "",
    new_password: Secret = "",
    repeat_password: Secret = "",
    keep_tokens: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    """Change one's password, given the current one; other sessions are logged out and
    API tokens revoked unless kept."""
    if new_password != repeat_password:
        return render_account(
            request, session, who, 400, change_error="The new passwords do not match."
        )
    moment = now()
    try:
        with session.begin_nested():
            result = users.change_password(
                session,
                users.get_user(session, who.user_id),
                current_password,
                new_password,
                moment,
                keep_session=own_session(request, who),
                keep_tokens=keep_tokens == "on",
            )
    except UsageError as exc:
        return render_account(request, session, who, 400, change_error=f"{exc}.")
    if result.outcome is users.PasswordOutcome.WRONG:
        error = "The current password is wrong."
        return render_account(request, session, who, 403, change_error=error)
    if result.locked_until is not None:
        minutes = users.wait_minutes(result.locked_until, moment)
        error = f"Too many wrong passwords. Try again in {minutes} minutes."
        return render_account(request, session, who, 429, change_error=error)
    notice = "Password changed. Your other sessions were logged out" + (
        "." if keep_tokens == "on" else " and your API tokens revoked."
    )
    return render_account(request, session, who, change_notice=notice)


@router.post("/users/{user_id}/password")
def reset_password(
    *,
    request: Request,
    user_id: Id,
    session: Db,
    who: Admin,
    password: Secret = "",
    keep_tokens: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    """Set the password typed, or generate one shown once; the user's sessions end and its
    API tokens are revoked unless the admin keeps them."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    new = password or users.generate_password()
    generated = None if password else new
    try:
        with session.begin_nested():
            revoked = users.set_password(
                session,
                user,
                new,
                keep_session=own_session(request, who),
                keep_tokens=keep_tokens == "on",
            )
    except UsageError as exc:
        return render_users(request, session, who, f"{user.email}: {exc}", 400)
    return render_users(
        request,
        session,
        who,
        reset_email=user.email,
        reset_password=generated,
        tokens_revoked=revoked,
    )
