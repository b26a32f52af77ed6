"""Named queries for clients. Alert URLs are Apprise URLs with tokens: encrypted at rest."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.sites import validate_name
from sitekeeper.errors import UsageError
from sitekeeper.store.lookup import by_id_or_name, name_taken
from sitekeeper.store.tables import Client, Contract, Site
from sitekeeper.vault import Vault

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_APPRISE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def get_client(session: Session, ref: str) -> Client:
    """The client with this id or name; NotFound otherwise."""
    return by_id_or_name(session, Client, Client.name, ref, "client")


def list_clients(session: Session) -> list[Client]:
    """All clients, by name."""
    return list(session.scalars(select(Client).order_by(Client.name)))


def add_client(
    session: Session,
    vault: Vault,
    *,
    name: str,
    email: str | None = None,
    language: str = "en",
    alert_urls: list[str] | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> Client:
    """Create a client; UsageError if the name is taken or a field is malformed."""
    client = Client(alert_urls=[], created_at=now or datetime.now(UTC))
    _apply(session, client, vault, name, email, language, alert_urls or [], notes)
    session.add(client)
    session.flush()
    return client


def update_client(
    session: Session,
    client: Client,
    vault: Vault,
    *,
    name: str | None = None,
    email: str | None = None,
    language: str | None = None,
    alert_urls: list[str] | None = None,
    notes: str | None = None,
) -> Client:
    """Change the given fields (None leaves a field alone; an empty list clears alert URLs)."""
    _apply(session, client, vault, name, email, language, alert_urls, notes)
    session.flush()
    return client


def _apply(  # noqa: PLR0917 - private helper mirroring the public keyword API
    session: Session,
    client: Client,
    vault: Vault,
    name: str | None,
    email: str | None,
    language: str | None,
    alert_urls: list[str] | None,
    notes: str | None,
) -> None:
    if name is not None:
        name = validate_name(name)
        if name_taken(session, Client.name, name, except_id=client.id):
            raise UsageError(f"a client named {name!r} already exists")
        client.name = name
    if email is not None:
        if email and not _EMAIL.match(email):
            raise UsageError(f"invalid e-mail address {email!r}")
        client.email = email or None
    if language is not None:
        if not _LANGUAGE.match(language):
            raise UsageError(f"invalid language {language!r}: use a code like en, de, pt-BR")
        client.language = language
    if alert_urls is not None:
        for url in alert_urls:
            check_alert_url(url)
        client.alert_urls = [vault.encrypt(url) for url in alert_urls]
    if notes is not None:
        client.notes = notes or None


def check_alert_url(url: str) -> None:
    """UsageError unless Apprise understands ``url`` (checked now, not at the first outage)."""
    if not _APPRISE.match(url):
        raise UsageError(f"invalid alert URL {mask_url(url)!r}: expected scheme://...")
    import apprise  # noqa: PLC0415 - slow import, only needed when URLs are given

    if not apprise.Apprise().add(url):
        raise UsageError(f"invalid alert URL {mask_url(url)!r}: not a URL Apprise supports")


def remove_client(session: Session, client: Client) -> None:
    """Delete a client that has no sites or contracts left (they are not removed silently)."""
    sites = session.scalar(select(func.count()).where(Site.client_id == client.id)) or 0
    contracts = session.scalar(select(func.count()).where(Contract.client_id == client.id)) or 0
    if sites or contracts:
        raise UsageError(
            f"client {client.name!r} still has {sites} site(s) and {contracts} contract(s);"
            " remove them first"
        )
    session.delete(client)
    session.flush()


def alert_urls(client: Client, vault: Vault) -> list[str]:
    """The client's Apprise URLs in clear text, for the notifier."""
    return [vault.decrypt(stored) for stored in client.alert_urls]


def mask_url(url: str) -> str:
    """``scheme://****wxyz``: enough to tell URLs apart, too little to use one."""
    scheme = urlsplit(url).scheme if "://" in url else ""
    rest = url.split("://", 1)[-1]
    tail = rest[-4:] if len(rest) >= 12 else ""
    return f"{scheme}://****{tail}" if scheme else f"****{tail}"


def site_count(session: Session, client_id: int) -> int:
    """How many sites the client has."""
    return session.scalar(select(func.count()).where(Site.client_id == client_id)) or 0


def site_counts(session: Session) -> dict[int, int]:
    """Sites per client id, in one query (for lists)."""
    rows = session.execute(
        select(Site.client_id, func.count())
        .where(Site.client_id.is_not(None))
        .group_by(Site.client_id)
    ).tuples()
    return {client_id: count for client_id, count in rows if client_id is not None}
