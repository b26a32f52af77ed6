"""An inventory of a real WordPress site in an attacker's hands (wp3, see tests/hostile.py).

What the site says is collected as data: no control character survives in any
value or warning, whatever the headers, folder names, ``$wp_version`` or the
database claim.
"""

from __future__ import annotations

from typing import Any

import pytest

from sitekeeper.cms import drupal, joomla
from sitekeeper.cms.wordpress import inventory
from sitekeeper.domain.untrusted import clean
from sitekeeper.remote.ssh import SshConnection
from tests.hostile import (
    CORE_VERSION,
    DB_VERSION,
    EVIL_SLUG,
    MARKUP,
    NL_SLUG,
    OSC52,
    THEME_SLUG,
    X_GENERATOR,
    hostile_wp3,
    wp3_site,
)

__all__ = ["hostile_wp3", "wp3_site"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _controls(text: str) -> list[str]:
    return [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u2028"]


@pytest.mark.realsites
async def test_what_a_hostile_site_says_is_collected_without_controls(
    hostile_wp3: SshConnection,
) -> None:
    inv = await inventory(hostile_wp3, "/srv/sites/wp3")

    for text in _strings(inv.model_dump(mode="json")):
        assert not _controls(text), text
    evil = inv.extension("plugin", EVIL_SLUG)
    assert evil is not None
    assert evil.name.startswith("Evil ]52;c;")
    assert MARKUP in evil.name  # markup is data here; it is the printers' job not to read it
    assert "INJECTED INJECTED INJECTED" in evil.name  # line breaks became spaces
    assert "\u202e" not in evil.name
    assert evil.version is not None and evil.version.startswith("6.6.6]0;owned[link=")
    newline = inv.extension("plugin", clean(NL_SLUG))
    assert newline is not None
    assert (newline.name, newline.version, newline.file) == (
        "Newline folder",
        "1.0",
        f"{clean(NL_SLUG)}/plugin.php",
    )
    theme = inv.extension("theme", clean(THEME_SLUG))
    assert theme is not None
    assert theme.name.startswith(MARKUP)
    assert inv.version == clean(CORE_VERSION)
    assert inv.database == clean(DB_VERSION)
    # The site's real extensions are read as before.
    assert {"akismet", "xrds-simple", "twentytwentythree"} <= {e.slug for e in inv.extensions}


def test_signals_quote_a_sites_generator_without_its_controls() -> None:
    """X-Generator and generator tags end up in fingerprint evidence, cleaned."""
    page = f'<meta name="generator" content="Joomla! - {OSC52}Open Source">'
    clues = drupal.read("http://s/", 200, {"x-generator": X_GENERATOR}, "") + joomla.read(
        "http://s/", 200, {}, page
    )
    evidence = " ".join(e for clue in clues for e in clue.evidence)
    assert "Drupal 10 ]52;c;" in evidence and "Joomla! - ]52;c;" in evidence
    assert not _controls(evidence)
