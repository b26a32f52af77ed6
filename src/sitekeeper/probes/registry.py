"""The probe registry: check kind -> probe class; the check runner looks probes up here."""

from __future__ import annotations

from sitekeeper.plugins import Registry

PROBES: Registry[type] = Registry("probe")
