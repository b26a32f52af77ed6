"""The SSH access part of the site edit page: target, key, docroot and the files' owner
to work as through sudo, for administrators only.

SSH access decides who may run commands on a client's server, so only an admin sees or
saves it (as over the API); it goes through ``store.sites.edited_ssh``, the validation the
CLI and the API use, and ``store.sites.update_site`` journals every change
(``ssh.access_changed``, before and after).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from sitekeeper.errors import UsageError
from sitekeeper.store import sites as site_store
from sitekeeper.store.ssh_keys import list_keys
from sitekeeper.store.tables import Site
from sitekeeper.web.auth import Admin, now
from sitekeeper.web.common import Db, Id, default_interval, visible_site
from sitekeeper.web.ui.forms import Sent

router = APIRouter()


def ssh_panel(
    session: Session, site: Site, sent: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What the SSH form shows: the stored access (or what was sent), the client's keys."""
    current = site.ssh or {}
    host = str(current.get("host", ""))
    host = f"[{host}]" if ":" in host else host
    stored = {
        "target": f"{current['user']}@{host}:{current['port']}" if current else "",
        "key_id": str(current.get("key_id") or ""),
        "docroot": str(current.get("docroot") or ""),
        "sudo_user": str(current.get("sudo_user") or ""),
    }
    shown = {k: (sent or {}).get(k, v) for k, v in stored.items()}
    keys = [(str(k.id), f"{k.name} ({k.fingerprint})") for k in list_keys(session, site.client_id)]
    return {"values": shown, "keys": keys, "has_access": bool(current)}


def ssh_fields(site: Site, sent: Mapping[str, str]) -> site_store.SiteFields:
    """The form's change as site fields (UsageError: refused, with why)."""
    fields = site_store.SiteFields()
    if sent.get("clear") == "on":
        fields.clear_ssh = True
        return fields
    key = sent.get("key_id", "").strip()
    if key and not key.isdigit():
        raise UsageError(f"not an SSH key id: {key[:40]!r}")
    fields.ssh = site_store.edited_ssh(
        site,
        sent.get("target", "").strip() or None,
        int(key) if key else None,
        sent.get("docroot", "").strip() or None,
        sent.get("sudo_user", "").strip(),  # "": work as the SSH user again
    )
    return fields


@router.post("/sites/{site_id}/ssh")
def update_ssh(request: Request, site_id: Id, session: Db, who: Admin, sent: Sent) -> Response:
    """Save the SSH form (admins only: others get 403, clients 404)."""
    from sitekeeper.web.ui.sites import site_form  # noqa: PLC0415 - the page this is part of

    site = visible_site(session, who, site_id)
    try:
        with session.begin_nested():
            fields = ssh_fields(site, sent)
            interval = default_interval(request)
            site_store.update_site(session, site, fields, now(), default_interval=interval)
    except UsageError as exc:
        session.refresh(site)
        return site_form(request, session, who, site, ssh_sent=sent, error=str(exc))
    return RedirectResponse(f"/sites/{site.id}", status_code=303)
