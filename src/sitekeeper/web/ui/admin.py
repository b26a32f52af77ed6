"""Settings (alert channels with a test send), users (admins), and one's own API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sitekeeper.domain.users import MIN_PASSWORD, UserFields
from sitekeeper.egress.policy import outbound_policy
from sitekeeper.errors import DeliveryError, UsageError
from sitekeeper.notify.registry import Notifiers, check_url
from sitekeeper.reports import branding
from sitekeeper.store import users
from sitekeeper.store.channels import set_ui_alert_urls, ui_alert_urls
from sitekeeper.store.clients import list_clients, mask_url
from sitekeeper.store.web_tables import User
from sitekeeper.web.auth import Admin, AnyUser, Viewer, database, now
from sitekeeper.web.common import Db, Id, parse_id, vault_of
from sitekeeper.web.ui.forms import Sent, form_fields, form_values
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=10_000)]


def _settings_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    error: str | None = None,
    result: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    vault = vault_of(request)
    env_urls = request.app.state.settings.alert_urls
    return page(
        request,
        "settings.html",
        who,
        status=status,
        stored=[mask_url(u) for u in ui_alert_urls(session, vault)],
        env=[mask_url(u) for u in env_urls],
        branding=branding.load(session),
        error=error,
        result=result,
    )


@router.get("/settings")
def settings_page(request: Request, session: Db, who: Admin) -> HTMLResponse:
    """Notification channels."""
    return _settings_page(request, session, who)


@router.post("/settings/alerts")
def save_alerts(
    *, request: Request, session: Db, who: Admin, alert_urls: Field = "", clear: Field = ""
) -> Response:
    """Replace the global alert URLs (validated by Apprise, stored encrypted)."""
    urls = [line.strip() for line in alert_urls.splitlines() if line.strip()]
    try:
        for url in urls:
            check_url(url)
    except UsageError as exc:
        return _settings_page(request, session, who, error=str(exc), status=400)
    if urls or clear == "on":
        vault = vault_of(request)
        set_ui_alert_urls(session, vault, urls)
    return RedirectResponse("/settings", status_code=303)


BRANDING_FIELDS = ("agency_name", "primary", "accent", "contact", "footer", "public_url")


@router.post("/settings/branding")
async def save_branding(request: Request, who: Admin) -> Response:
    """The client reports' white-label settings; a new logo (PNG or JPEG) replaces the old
    (the body is capped by web.gate, the logo again by ``branding.checked_logo``)."""
    form = await request.form(max_files=1, max_fields=20)
    upload = form.get("logo")
    logo = None
    if isinstance(upload, UploadFile) and upload.filename:
        logo = await upload.read(branding.MAX_LOGO_BYTES + 1)
    changes: dict[str, Any] = {
        k: str(v) for k in BRANDING_FIELDS if isinstance(v := form.get(k), str)
    }
    changes["remove_logo"] = form.get("remove_logo") == "on"

    def store() -> Response:
        with database(request).session() as session:
            try:
                branding.save(session, changes, logo=logo)
            except UsageError as exc:
                session.rollback()
                return _settings_page(request, session, who, error=str(exc), status=400)
        return RedirectResponse("/settings", status_code=303)

    return await run_in_threadpool(store)


def _test_targets(request: Request, url: str, who: Viewer) -> list[str]:
    with database(request).session() as session:
        stored = ui_alert_urls(session, vault_of(request))
    return [url.strip()] if url.strip() else stored + list(request.app.state.settings.alert_urls)


async def send_tests(request: Request, targets: list[str]) -> str:
    """Send a test message to each URL, one line of outcome per URL (URLs masked).

    Under the alert egress policy, like real alerts: a test button must not become a
    way to probe the server's own network.
    """
    lines: list[str] = []
    sender = Notifiers(timeout=15, egress=outbound_policy(request.app.state.settings))
    for target in targets:
        try:
            await sender.send(
                target,
                title="sitekeeper test message",
                body="If you can read this, sitekeeper's alerts reach this channel.",
            )
            lines.append(f"{mask_url(target)}: sent")
        except DeliveryError as exc:
            lines.append(f"{mask_url(target)}: failed — {exc}")
    return "\n".join(lines) if lines else "No channel configured: add one first."


@router.post("/settings/test")
async def send_test(request: Request, who: Admin, url: Field = "") -> HTMLResponse:
    """Send a test message to the URL typed, or to every configured channel."""
    targets = await run_in_threadpool(_test_targets, request, url, who)
    result = await send_tests(request, targets)

    def render() -> HTMLResponse:
        with database(request).session() as session:
            return _settings_page(request, session, who, result=result)

    return await run_in_threadpool(render)


# --- users ------------------------------------------------------------------------------------


def render_users(
    request: Request,
    session: Session,
    who: Viewer,
    error: str | None = None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The users page; ``extra`` carries one-off notices (e.g. a generated password)."""
    sent = extra.pop("sent", None)
    clients = [(str(c.id), c.name) for c in list_clients(session)]
    return page(
        request,
        "users.html",
        who,
        status=status,
        users=users.list_users(session),
        fields=form_fields(UserFields, {}, sent=sent, choices={"client_id": clients}),
        error=error,
        min_password=MIN_PASSWORD,
        **extra,
    )


@router.get("/users")
def users_page(request: Request, session: Db, who: Admin) -> HTMLResponse:
    """Everyone who can log in, and the add-a-user form."""
    return render_users(request, session, who)


@router.post("/users")
def create_user(request: Request, session: Db, who: Admin, sent: Sent) -> Response:
    """Add a user."""
    try:
        with session.begin_nested():
            users.add_user(session, now=now(), **form_values(UserFields, sent))
    except UsageError as exc:
        return render_users(request, session, who, str(exc), 400, sent=sent)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/delete")
def delete_user(user_id: Id, session: Db, who: Admin) -> Response:
    """Remove a user (not yourself: an installation must keep an admin)."""
    if user_id == who.user_id:
        raise HTTPException(400, "you cannot remove yourself")
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    users.remove_user(session, user)
    return RedirectResponse("/users", status_code=303)


# --- account: API tokens ----------------------------------------------------------------------


def render_account(
    request: Request, session: Session, who: Viewer, status: int = 200, **extra: Any
) -> HTMLResponse:
    """The account page; ``extra`` carries a new token or the password form's outcome."""
    user = users.get_user(session, who.user_id)
    values: dict[str, Any] = {"new": None, "min_password": MIN_PASSWORD, **extra}
    return page(
        request,
        "account.html",
        who,
        status=status,
        tokens=users.list_tokens(session, user),
        **values,
    )


@router.get("/account")
def account(request: Request, session: Db, who: AnyUser) -> HTMLResponse:
    """One's own API tokens and the password form."""
    return render_account(request, session, who)


@router.post("/account/tokens")
def create_token(
    request: Request, session: Db, who: AnyUser, name: Field = "", expires_in_days: Field = ""
) -> HTMLResponse:
    """Create a token (expiring after the days chosen, or never) and show it once."""
    user = users.get_user(session, who.user_id)
    days = parse_id(expires_in_days) if expires_in_days.strip() else None
    if expires_in_days.strip() and days is None:
        raise HTTPException(400, "the expiry is a number of days")
    try:
        with session.begin_nested():
            raw, _ = users.create_token(
                session,
                user,
                name,
                now(),
                expires_in=timedelta(days=days) if days else None,
            )
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None
    return render_account(request, session, who, new=raw)


@router.get("/users/{user_id}/tokens")
def user_tokens(request: Request, user_id: Id, session: Db, who: Admin) -> HTMLResponse:
    """Another user's API tokens, to see what a script uses and revoke it."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    tokens = users.list_tokens(session, user)
    return page(request, "user_tokens.html", who, user=user, tokens=tokens, moment=now())


@router.post("/users/{user_id}/tokens/{token_id}/delete")
def revoke_user_token(user_id: Id, token_id: Id, session: Db, who: Admin) -> Response:
    """Revoke one of a user's tokens (admins)."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    users.revoke_token(session, user, token_id)
    return RedirectResponse(f"/users/{user_id}/tokens", status_code=303)


@router.post("/account/tokens/{token_id}/delete")
def revoke_token(token_id: Id, session: Db, who: AnyUser) -> Response:
    """Revoke one of one's tokens."""
    users.revoke_token(session, users.get_user(session, who.user_id), token_id)
    return RedirectResponse("/account", status_code=303)
