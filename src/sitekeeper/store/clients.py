"""Named queries for clients. Alert URLs are channel URLs with tokens: encrypted at rest.

Whether a notifier takes a URL is notify's to say (``notify.registry.check_url``,
above the store): the surfaces pass it in as ``check_url``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.clients import ClientFields
from sitekeeper.domain.fields import fields, validated
from sitekeeper.errors import UsageError
from sitekeeper.store.lookup import by_id_or_name, name_taken
from sitekeeper.store.tables import Client, Contract, Site
from sitekeeper.timezones import zone
from sitekeeper.vault import Vault

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
UrlCheck = Callable[[str], None]  # raises UsageError for a URL no notifier takes


def get_client(session: Session, ref: str) -> Client:
    """The client with this id or name; NotFound otherwise."""
    return by_id_or_name(session, Client, Client.name, ref, "client")


def list_clients(session: Session) -> list[Client]:
    """All clients, by name."""
    return list(session.scalars(select(Client).order_by(Client.name)))


def client_values(client: Client) -> dict[str, Any]:
    """The client's declared fields as stored (alert URLs still encrypted: count them only)."""
    return {d.name: getattr(client, d.name) for d in fields(ClientFields)}


def add_client(
    session: Session,
    vault: Vault,
    *,
    now: datetime | None = None,
    check_url: UrlCheck | None = None,
    **values: Any,
) -> Client:
    """Create a client from the fields :class:`ClientFields` declares; UsageError if the
    name is taken or a field is malformed. ``check_url`` vets each alert URL (without
    it, only its ``scheme://`` form is checked)."""
    client = Client(alert_urls=[], created_at=now or datetime.now(UTC))
    _apply(session, client, vault, validated(ClientFields, values), check_url)
    session.add(client)
    session.flush()
    return client


def update_client(
    session: Session,
    client: Client,
    vault: Vault,
    *,
    check_url: UrlCheck | None = None,
    **values: Any,
) -> Client:
    """Change the given fields (None leaves a field alone; an empty list clears alert URLs);
    ``check_url`` as for :func:`add_client`."""
    _apply(session, client, vault, validated(ClientFields, values, client), check_url)
    session.flush()
    return client


def _apply(
    session: Session,
    client: Client,
    vault: Vault,
    values: dict[str, Any],
    check_url: UrlCheck | None,
) -> None:
    if "timezone" in values:
        zone(values["timezone"])  # one the system knows (UsageError if not)
    name = values.get("name")
    if name is not None and name_taken(session, Client.name, name, except_id=client.id):
        raise UsageError(f"a client named {name!r} already exists")
    urls = values.pop("alert_urls", None)
    if urls is not None:
        for url in urls:
            if not _URL.match(url):
                raise UsageError(f"invalid alert URL {mask_url(url)!r}: expected scheme://...")
            if check_url is not None:
                check_url(url)
        client.alert_urls = [vault.encrypt(url) for url in urls]
    for field, value in values.items():
        # an empty e-mail or note clears it
        empty = value == "" and ClientFields.model_fields[field].default is None
        setattr(client, field, None if empty else value)


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


def client_names(session: Session) -> dict[int, str]:
    """Every client's name by id, in one query (for lists that name the client)."""
    return dict(session.execute(select(Client.id, Client.name)).tuples().all())


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
