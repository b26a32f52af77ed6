"""File headers WordPress reads to know a plugin, a theme and its version.

WordPress looks only at the first 8 KB of a plugin's main file or a theme's
``style.css`` and matches ``Name: value`` lines case-insensitively, whatever
comment decoration precedes them; we do the same so that our inventory agrees
with the site's own admin screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sitekeeper.intel.payload import as_bytes

HEADER_BYTES = 8 * 1024  # WordPress reads this much of the file and no more

PLUGIN_FIELDS = {
    "name": "Plugin Name",
    "plugin_uri": "Plugin URI",
    "version": "Version",
    "description": "Description",
    "author": "Author",
    "author_uri": "Author URI",
    "text_domain": "Text Domain",
    "domain_path": "Domain Path",
    "network": "Network",
    "requires_wp": "Requires at least",
    "requires_php": "Requires PHP",
    "update_uri": "Update URI",
    "requires_plugins": "Requires Plugins",
}
THEME_FIELDS = {
    "name": "Theme Name",
    "theme_uri": "Theme URI",
    "version": "Version",
    "description": "Description",
    "author": "Author",
    "author_uri": "Author URI",
    "template": "Template",
    "text_domain": "Text Domain",
    "requires_wp": "Requires at least",
    "requires_php": "Requires PHP",
    "tested_up_to": "Tested up to",
    "tags": "Tags",
}
README_FIELDS = {
    "stable_tag": "Stable tag",
    "requires_wp": "Requires at least",
    "tested_up_to": "Tested up to",
    "requires_php": "Requires PHP",
}


@dataclass(frozen=True)
class FileHeaders:
    """What a plugin file, a style.css or a readme.txt declares; empty values are absent."""

    name: str | None
    version: str | None
    fields: dict[str, str] = field(default_factory=dict)  # every known header found, by key

    def get(self, key: str) -> str | None:
        """One header by our key (e.g. "requires_php"), or None."""
        return self.fields.get(key)


def _read_headers(data: bytes | str, names: dict[str, str]) -> dict[str, str]:
    raw = as_bytes(data, what="file header", max_bytes=2**31)[:HEADER_BYTES]
    text = raw.decode("utf-8", "replace").replace("\r", "\n")
    found: dict[str, str] = {}
    for key, label in names.items():
        pattern = rf"^(?:[ \t]*<\?php)?[ \t/*#@]*{re.escape(label)}:(.*)$"
        match = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
        if match:
            value = re.sub(r"\s*(?:\*/|\?>).*", "", match.group(1)).strip()
            if value:
                found[key] = value
    return found


def parse_plugin_headers(data: bytes | str) -> FileHeaders | None:
    """Headers of a plugin's main PHP file; None if it has no ``Plugin Name`` (not a main file)."""
    found = _read_headers(data, PLUGIN_FIELDS)
    if "name" not in found:
        return None
    return FileHeaders(name=found["name"], version=found.get("version"), fields=found)


def parse_theme_headers(data: bytes | str) -> FileHeaders | None:
    """Headers of a theme's ``style.css``; None without ``Theme Name`` (WordPress ignores it)."""
    found = _read_headers(data, THEME_FIELDS)
    if "name" not in found:
        return None
    return FileHeaders(name=found["name"], version=found.get("version"), fields=found)


def parse_readme(data: bytes | str) -> FileHeaders:
    """A plugin's ``readme.txt``: the ``=== Name ===`` title and the ``Stable tag``."""
    found = _read_headers(data, README_FIELDS)
    raw = as_bytes(data, what="readme", max_bytes=2**31)[:HEADER_BYTES].decode("utf-8", "replace")
    title = re.match(r"^\s*===\s*(.+?)\s*===", raw)
    return FileHeaders(
        name=title.group(1) if title else None, version=found.get("stable_tag"), fields=found
    )
