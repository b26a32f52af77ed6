"""Who a software alert is about and for: the sites it names and their clients' channels.

Read in the transaction that queues the alert, so its text names the sites as they are.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Client, Site


def sites_by_id(session: Session, ids: list[int]) -> dict[int, tuple[str, str, int | None]]:
    """(name, url, client id) of each site, in chunks of 1000 ids."""
    result: dict[int, tuple[str, str, int | None]] = {}
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(Site.id, Site.name, Site.url, Site.client_id).where(
                Site.id.in_(ids[start : start + 1000])
            )
        )
        result.update((i, (n, u, c)) for i, n, u, c in rows)
    return result


def clients_by_id(session: Session, ids: list[int]) -> dict[int | None, tuple[str, list[str], str]]:
    """(name, stored alert URLs, language) of each client."""
    rows = session.execute(
        select(Client.id, Client.name, Client.alert_urls, Client.language).where(Client.id.in_(ids))
    )
    return {i: (n, list(u or []), lang or "en") for i, n, u, lang in rows}
