"""Who is asking: session cookies and bearer tokens, roles, CSRF, and the login throttle.

Every route depends on one of ``viewer``/``staff``/``admin``; client users are
confined to their own client by ``Viewer.client_scope`` in every query, and
whatever they may not see answers 404 so existence does not leak.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from sitekeeper.store import users
from sitekeeper.store.database import Database

log = logging.getLogger(__name__)

SESSION_COOKIE = "sk_session"
LOGIN_CSRF_COOKIE = "sk_login_csrf"
SESSION_TTL = timedelta(days=7)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotAuthenticated(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated user of one request."""

    user_id: int
    email: str
    role: str
    client_id: int | None
    csrf: str | None  # None when authenticated by a bearer token (no cookie, no CSRF risk)
    token_id: int | None = None  # the API token of the request, if it came with one

    @property
    def is_staff(self) -> bool:
        """Admins and technicians see the whole fleet."""
        return self.role in ("admin", "technician")

    @property
    def is_admin(self) -> bool:
        """Only admins manage users and installation settings."""
        return self.role == "admin"

    @property
    def client_scope(self) -> int | None:
        """The one client this viewer may see, or None for staff (everything)."""
        return None if self.is_staff else (self.client_id if self.client_id is not None else -1)


def database(request: Request) -> Database:
    """The app's database."""
    db: Database = request.app.state.db
    return db


def now() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


VIEWER_STATE = "viewer"  # where ``web.gate`` leaves the viewer it already authenticated


def authenticate(session: Session, request: Request) -> Viewer | None:
    """The user behind the request's bearer token or session cookie, or None.

    Reads headers and cookies only (never the body): ``web.gate`` calls it (through its
    DbThread) before the app reads anything.
    """
    token = _bearer(request)
    if token is not None:
        owned = users.token_lookup(session, token, now())
        if owned is None:
            return None
        owner, used = owned
        return Viewer(owner.id, owner.email, owner.role, owner.client_id, None, used.id)
    raw = request.cookies.get(SESSION_COOKIE)
    found = users.session_user(session, raw, now()) if raw else None
    if found is None:
        return None
    user, row = found
    return Viewer(user.id, user.email, user.role, user.client_id, row.csrf_token)


def viewer(request: Request) -> Viewer:
    """The user behind the request's bearer token or session cookie; NotAuthenticated if none."""
    known = getattr(request.state, VIEWER_STATE, None)
    if isinstance(known, Viewer):
        return known
    with database(request).session() as session:
        who = authenticate(session, request)
    if who is None:
        if _bearer(request) is not None:
            raise NotAuthenticated("invalid, expired or revoked API token")
        raise NotAuthenticated("log in first")
    return who


async def checked_viewer(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """``viewer``, plus the CSRF check for state-changing requests made with the cookie."""
    if request.method in UNSAFE and who.csrf is not None:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent, who.csrf):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and retry")
    return who


def staff(who: Annotated[Viewer, Depends(checked_viewer)]) -> Viewer:
    """Admins and technicians; a client user gets 404 (the thing "does not exist" for it)."""
    if not who.is_staff:
        raise HTTPException(404, "not found")
    return who


def admin(who: Annotated[Viewer, Depends(checked_viewer)]) -> Viewer:
    """Admins only; client users get 404, technicians 403 (they know the page exists)."""
    if not who.is_staff:
        raise HTTPException(404, "not found")
    if not who.is_admin:
        raise HTTPException(403, "only administrators may do this")
    return who


AnyUser = Annotated[Viewer, Depends(checked_viewer)]
Staff = Annotated[Viewer, Depends(staff)]
Admin = Annotated[Viewer, Depends(admin)]


def own_session(request: Request, who: Viewer) -> str | None:
    """The raw session id behind a cookie-authenticated request (None with a bearer token).

    A password change keeps this one session alive and ends the user's others.
    """
    return request.cookies.get(SESSION_COOKIE) if who.csrf is not None else None


@dataclass(frozen=True, slots=True)
class LoginKeys:
    """The throttle keys one login attempt counts against (see ``store.users``)."""

    pair: str  # this account from this address: reset by a success from it
    keyed: list[tuple[str, users.ThrottlePolicy]]

    @property
    def keys(self) -> list[str]:
        """The keys whose waits hold this attempt back."""
        return [key for key, _ in self.keyed]


def throttle_keys(email: str, ip: str, *, known: bool) -> LoginKeys:
    """The keys of an attempt on ``email`` from ``ip``; the account-wide one is left out on
    an address the owner logged in from before (``known``), so an attacker elsewhere
    cannot hold the owner up."""
    account = email.strip().lower()[:320]
    pair = f"{account}|{ip}"
    keyed = [(f"pair:{pair}", users.PAIR_POLICY), (f"ip:{ip}", users.IP_POLICY)]
    if not known:
        keyed.append((f"account:{account}", users.ACCOUNT_POLICY))
    return LoginKeys(pair, keyed)


def client_address(request: Request) -> str:
    """The client's address: the peer's, or the one a trusted proxy forwarded.

    uvicorn rewrites the peer from X-Forwarded-For only when the peer is in
    ``SITEKEEPER_TRUSTED_PROXIES`` (the right-most address not itself trusted), so a
    header from anyone else changes nothing here.
    """
    address = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_proxies
    if trusted and "x-forwarded-for" not in request.headers and _in(address, trusted):
        _warn_once(address)
    return address


def _in(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


_warned: set[str] = set()


def _warn_once(proxy: str) -> None:
    if proxy not in _warned:
        _warned.add(proxy)
        log.warning(
            "a request from the trusted proxy %s has no X-Forwarded-For: every client behind "
            "it shares one login throttle; make the proxy send the header",
            proxy,
        )
