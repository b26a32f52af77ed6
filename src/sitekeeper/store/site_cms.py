"""A site's CMS as found on its server, kept once it is known."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Site


def remember_cms(session: Session, site_id: int, cms: str, replacing: str | None = None) -> None:
    """Store ``cms`` (found over SSH, ``cms.detect``) as the site's CMS in place of
    ``replacing`` (None: the site had none yet).

    A CMS stored meanwhile by another job is left: the next job reads it.
    """
    current = Site.cms.is_(None) if replacing is None else Site.cms == replacing
    session.execute(update(Site).where(Site.id == site_id, current).values(cms=cms[:32]))
