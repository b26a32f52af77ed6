"""Addresses sitekeeper hands out to people outside the dashboard: a client's status page,
and the report's links (a warning when there is no public address to make them from).

They start with the dashboard's public address from the branding settings (``branding set
--public-url``, the settings page), the one the reports link to; without one, with the
address the web UI listens on (``http://WEB_HOST:WEB_PORT``), right on a single machine.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.reports import branding
from sitekeeper.store.tables import Client

# Where a client's status page answers under that address (web.ui.status_page mounts its
# route here: the web layer sits above this one, so the address is said once, here).
STATUS_PATH = "/status/"


NO_PUBLIC_URL = (
    "no public address of the dashboard is set (sitekeeper branding set --public-url "
    "https://…, or the settings page): the report's links to the records behind its "
    "figures are root-relative and lead nowhere from a PDF or an e-mail"
)


def links_warning(session: Session) -> str | None:
    """What to tell whoever makes a report when its links cannot work (no public URL);
    None when they can."""
    return None if branding.load(session).public_url else NO_PUBLIC_URL


def public_base(session: Session, settings: Settings) -> str:
    """The dashboard's public address, without a trailing slash (the branding's is stored
    without one)."""
    return branding.load(session).public_url or settings.listen_url


def status_page_url(session: Session, settings: Settings, client: Client) -> str | None:
    """The address of the client's public status page, None while it is off."""
    if client.status_token is None:
        return None
    return f"{public_base(session, settings)}{STATUS_PATH}{client.status_token}"
