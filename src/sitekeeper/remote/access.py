"""How to reach a site over SSH.

The model itself lives in ``domain.sites`` (it is validated with the site and
stored as JSON in ``Site.ssh``); the remote layer re-exports it so callers of
``remote`` need only one import and there is exactly one definition.
"""

from __future__ import annotations

from sitekeeper.domain.sites import SshAccess

__all__ = ["SshAccess"]
