"""The database dump engine registry: database kind -> dump engine; backups look it up here."""

from __future__ import annotations

from sitekeeper.plugins import Registry

DUMP_ENGINES: Registry[type] = Registry("backup_dump")
