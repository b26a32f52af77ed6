"""A site's CMS as found on its server, kept once it is known."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Site


def remember_cms(session: Session, site_id: int, cms: str) -> None:
    """Store ``cms`` (found over SSH, ``cms.detect``) as the site's CMS if it has none yet.

    A CMS stored meanwhile (an inventory, a fingerprint, another detection) is left:
    the next job reads it instead of detecting again.
    """
    session.execute(update(Site).where(Site.id == site_id, Site.cms.is_(None)).values(cms=cms[:32]))
