"""The notifier registry: channel kind -> sender class; the outbox looks senders up here."""

from __future__ import annotations

from sitekeeper.plugins import Registry

NOTIFIERS: Registry[type] = Registry("notifier")
