"""Joomla's ecosystem, declared once: core and extensions compare like PHP's
``version_compare``."""

from __future__ import annotations

from sitekeeper.domain.versions import PHP_SCHEME, Ecosystem

JOOMLA = Ecosystem.declare("joomla", PHP_SCHEME)
