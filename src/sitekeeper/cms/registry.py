"""The CMS registry: kind -> CMS plugin; detection, inventories and backups look CMSes up here."""

from __future__ import annotations

from sitekeeper.plugins import Registry

CMSES: Registry[type] = Registry("cms")
