"""An inventory of a real WordPress site in an attacker's hands (wp3, see tests/hostile.py).

What the site says is collected as data: no control character survives in any
value or warning, whatever the headers, folder names, ``$wp_version`` or the
database claim.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.cms.collector import InventoryLimits
from sitekeeper.cms.drupal import signals as drupal
from sitekeeper.cms.joomla import signals as joomla
from sitekeeper.cms.wordpress.inventory import inventory
from sitekeeper.domain.untrusted import clean
from sitekeeper.errors import InventoryRefused, RemoteError
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.store.database import Database
from tests.hostile import (
    BIG_FILES,
    CORE_VERSION,
    DB_VERSION,
    DOCROOT,
    EVIL_SLUG,
    MARKUP,
    NL_SLUG,
    OSC52,
    THEME_SLUG,
    X_GENERATOR,
    add_fan_out,
    add_many_plugins,
    hostile_wp3,
    open_wp3,
    undo_hostile,
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


# ---------------------------------------------------------------- the symlink fan-out

FAN_OUT_LINKS = 300
PEAK_RSS_MB = 300
# The inventory runs in its own process, so its peak memory is its own: VmHWM, the high-water
# mark of the process's own memory (ru_maxrss would also count the pytest process it was
# forked from, which Linux carries across exec).
INVENTORY_PROCESS = """
import asyncio, json, re, sys
from sitekeeper.cms.collector import InventoryLimits
from sitekeeper.cms.wordpress.inventory import inventory
from sitekeeper.errors import InventoryRefused
from sitekeeper.store.database import Database
from tests.hostile import open_wp3, site

async def main() -> dict:
    db = Database(f"sqlite:///{sys.argv[1]}")
    limits = InventoryLimits(deadline=float(sys.argv[2]), max_bytes=int(sys.argv[3]))
    async with await open_wp3(db, site()) as conn:
        try:
            inv = await inventory(conn, "/srv/sites/wp3", limits)
        except InventoryRefused as exc:
            return {"refused": str(exc)}
    return {"slugs": [e.slug for e in inv.extensions], "warnings": inv.warnings}

outcome = asyncio.run(main())
with open("/proc/self/status") as status:
    peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
print(json.dumps({"outcome": outcome, "peak_kb": peak_kb}))
"""


def _inventory_in_a_process(
    tmp: Path, deadline: float, max_bytes: int
) -> tuple[dict[str, Any], float]:
    """The outcome of an inventory of wp3 in a child process, and the child's peak RSS in MB."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            INVENTORY_PROCESS,
            str(tmp / "pins.db"),
            str(deadline),
            str(max_bytes),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parents[2],
    )
    out, _ = proc.communicate()
    assert proc.returncode == 0, out
    said = json.loads(out)
    return said["outcome"], said["peak_kb"] / 1024


@pytest.fixture
async def fan_out_wp3(
    wp3_site: dict[str, Any], sqlite_db: Database
) -> AsyncIterator[SshConnection]:
    """wp3 with 19,990 empty .php files in one folder and 300 plugins that link to it."""
    async with await open_wp3(sqlite_db, wp3_site) as conn:
        await undo_hostile(conn)
        await add_fan_out(conn, FAN_OUT_LINKS)
        try:
            yield conn
        finally:
            await undo_hostile(conn)


@pytest.mark.realsites
async def test_symlink_fan_out_is_read_once_in_bounded_memory(
    fan_out_wp3: SshConnection, tmp_path: Path
) -> None:
    outcome, peak_mb = _inventory_in_a_process(tmp_path, deadline=300, max_bytes=64 * 2**20)

    assert peak_mb < PEAK_RSS_MB, outcome
    assert "refused" not in outcome, outcome
    slugs = set(outcome["slugs"])
    assert {"akismet", "xrds-simple", "twentytwentythree"} <= slugs
    assert not {s for s in slugs if s.startswith("zz-s")}  # no header in the big folder


@pytest.mark.realsites
async def test_an_inventory_past_its_budget_or_deadline_is_refused(
    fan_out_wp3: SshConnection, tmp_path: Path
) -> None:
    over_budget, peak_mb = _inventory_in_a_process(tmp_path, deadline=300, max_bytes=2**20)
    assert peak_mb < PEAK_RSS_MB
    assert over_budget["refused"].startswith("inventory refused: what /srv/sites/wp3 gives to read")
    assert "exceeds the budget of 1.0 MiB per inventory" in over_budget["refused"]

    with pytest.raises(InventoryRefused, match=r"exceeds the deadline of 0\.001 s") as caught:
        await inventory(fan_out_wp3, DOCROOT, InventoryLimits(deadline=0.001))
    assert caught.value.permanent


@pytest.mark.realsites
async def test_a_listing_is_capped_while_it_streams(fan_out_wp3: SshConnection) -> None:
    big = f"{DOCROOT}/wp-content/sk-hostile-bigdir"

    first = await fan_out_wp3.scan_dir(big, limit=100)
    smallest = await fan_out_wp3.scan_dir(big, keep=3)
    everything = await fan_out_wp3.scan_dir(big)

    assert (len(first.entries), first.read, first.complete) == (100, 100, False)
    assert [e.name for e in smallest.entries] == ["f00001.php", "f00002.php", "f00003.php"]
    assert (smallest.read, smallest.complete) == (BIG_FILES, True)  # whatever the server's order
    assert (len(everything.entries), everything.complete) == (BIG_FILES, True)


# ---------------------------------------------------------------- more extensions than the cap

MANY = 50_000


@pytest.fixture
async def crowded_wp3(
    wp3_site: dict[str, Any], sqlite_db: Database
) -> AsyncIterator[SshConnection]:
    """wp3 with 50,000 plugin entries besides its real plugins."""
    async with await open_wp3(sqlite_db, wp3_site) as conn:
        await undo_hostile(conn)
        await add_many_plugins(conn, MANY)
        try:
            yield conn
        finally:
            await undo_hostile(conn)


@pytest.mark.realsites
async def test_a_site_with_more_plugins_than_the_cap_keeps_what_was_read(
    crowded_wp3: SshConnection,
) -> None:
    inv = await inventory(crowded_wp3, DOCROOT)

    slugs = {e.slug for e in inv.extensions}
    assert {"akismet", "http-authentication", "xrds-simple", "twentytwentythree"} <= slugs
    assert inv.warnings == [
        f"the site has more plugins than sitekeeper reads: {DOCROOT}/wp-content/plugins has "
        f"{MANY + 4:,} entries; the first 1,000 by name were read (cap 1,000)"
    ]
    with pytest.raises(RemoteError, match="has over 20000 entries; not listed") as caught:
        await crowded_wp3.list_dir(f"{DOCROOT}/wp-content/plugins")
    assert caught.value.permanent
