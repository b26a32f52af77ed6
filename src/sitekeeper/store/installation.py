"""What ``serve`` says about the installation when it starts: how many sites and users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Site
from sitekeeper.store.web_tables import User


@dataclass(frozen=True)
class Size:
    """Counts that decide serve's first hints ("add a site", "create the first admin")."""

    sites: int
    users: int


def size(session: Session) -> Size:
    """How many sites and users the installation has."""
    return Size(
        sites=session.scalar(select(func.count()).select_from(Site)) or 0,
        users=session.scalar(select(func.count()).select_from(User)) or 0,
    )
