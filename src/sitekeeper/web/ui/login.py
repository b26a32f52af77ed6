"""/login and /logout. The login form has its own CSRF token (a cookie it must echo)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sitekeeper.store import users
from sitekeeper.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL,
    AnyUser,
    NotAuthenticated,
    client_address,
    now,
    throttle_keys,
    viewer,
)
from sitekeeper.web.common import Db
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after login would be a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_form(
    request: Request, next_url: str, error: str | None = None, status: int = 200, email: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        None,
        status=status,
        login_csrf=token,
        next_url=next_url,
        error=error,
        email=email,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (or home, when already logged in)."""
    try:
        viewer(request)
    except NotAuthenticated:
        return _login_form(request, _safe_next(next))
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/login")
def login(
    *,
    request: Request,
    session: Db,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials, counting failures per account and per address."""
    target = _safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not hmac.compare_digest(csrf_token, expected):
        return _login_form(request, target, "Your login form expired; please try again.", 403)
    moment = now()
    ip = client_address(request)
    account = email.strip().lower()[:320]
    known = users.known_address(session, f"{account}|{ip}", moment)
    keys = throttle_keys(email, ip, known=known)
    until = users.locked_until(session, keys.keys, moment)
    if until is not None:
        # Refused before the password is even checked: a wait is not an oracle.
        wait = users.wait_text(until, moment)
        message = f"Too many failed attempts. Try again in {wait}."
        refused = _login_form(request, target, message, 429, email)
        refused.headers["Retry-After"] = str(max(1, int((until - moment).total_seconds() + 1)))
        return refused
    user = users.authenticate(session, email, password, moment)
    if user is None:
        users.record_failure(session, keys.keyed, moment)
        return _login_form(request, target, "Wrong e-mail address or password.", 401, email)
    users.clear_failures(session, f"pair:{keys.pair}")
    users.remember_address(session, keys.pair, moment)
    users.purge_sessions(session, moment)
    raw, _ = users.create_session(session, user, moment, SESSION_TTL)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: Db, who: AnyUser) -> Response:
    """End this browser's session."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        users.end_session(session, raw)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
