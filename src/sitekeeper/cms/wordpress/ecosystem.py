"""WordPress's ecosystem, declared once: core, plugins and themes compare like PHP's
``version_compare``."""

from __future__ import annotations

from sitekeeper.domain.versions import PHP_SCHEME, Ecosystem

WORDPRESS = Ecosystem.declare("wordpress", PHP_SCHEME)
