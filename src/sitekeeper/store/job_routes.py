"""Where a site's jobs land: the client server they work on and the client they serve.

The job engine (``engine.dispatch``) keeps the work on one server under a limit and
shares the queue fairly between clients; both need these two facts of each site.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Site

_CHUNK = 1000  # ids per IN list


@dataclass(frozen=True, slots=True)
class Route:
    """A site's server (its SSH host, lower case; None without SSH) and client."""

    server: str | None
    client_id: int | None


def routes(session: Session, site_ids: Collection[int]) -> dict[int, Route]:
    """The route of each of ``site_ids`` that exists."""
    ordered, found = sorted(set(site_ids)), {}
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            select(Site.id, Site.ssh, Site.client_id).where(
                Site.id.in_(ordered[start : start + _CHUNK])
            )
        )
        for site_id, ssh, client_id in rows:
            host = (ssh or {}).get("host")
            found[site_id] = Route(str(host).lower() if host else None, client_id)
    return found
