"""The CMS registry: kind -> the one :class:`~sitekeeper.cms.protocol.Cms` object of that CMS.

Detection, fingerprints, inventories, feed polls and backups look CMSes up here
(``CMSES.get(site.cms)``, ``CMSES.items()``), never by importing a CMS package.
"""

from __future__ import annotations

from sitekeeper.cms.protocol import Cms
from sitekeeper.plugins import Registry

CMSES: Registry[Cms] = Registry("cms")
