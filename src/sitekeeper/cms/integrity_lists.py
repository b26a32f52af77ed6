"""What the integrity scan needs of a site's CMS, through the registry: its rules (the
``integrity.toml`` data file beside the CMS package's code) and its vendors' per-file
lists for the installed core and extensions (the same ``PerFileChecksums`` the updater
checks packages against). A CMS without rules or lists gets a note, never a guess.
"""

from __future__ import annotations

import importlib
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.inventory import Inventory
from sitekeeper.domain.untrusted import visible
from sitekeeper.domain.updates import CORE, UpdateItem
from sitekeeper.errors import FeedError, SitekeeperError
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.intel.release_trees import ReleaseTrees
from sitekeeper.scan.compare import IntegrityRules, VendorList

RULES_FILE = "integrity.toml"
MAX_CHECKSUMS = 8 * 1024 * 1024
log = logging.getLogger(__name__)


def rules_for(kind: str | None) -> IntegrityRules | None:
    """The CMS's integrity rules, from the data file of the package that registered it
    (None: no such CMS, or it ships none)."""
    cms = CMSES.find(kind) if kind else None
    if cms is None:
        return None
    package = type(cms).__module__
    if not hasattr(importlib.import_module(package), "__path__"):  # a module: its package
        package = package.rsplit(".", 1)[0]
    try:
        text = files(package).joinpath(RULES_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    return IntegrityRules.from_data(tomllib.loads(text))


@dataclass(slots=True)
class Lists:
    """The vendor lists found, and in words what has none."""

    lists: list[VendorList] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def vendor_lists(
    inventory: Inventory,
    rules: IntegrityRules,
    vendor: Mapping[str, Any],
    fetcher: Fetcher,
    trees: ReleaseTrees | None = None,
) -> Lists:
    """The per-file lists of the installed core and of each extension whose vendor has
    one for its version; a list that cannot be fetched is a note (that part unchecked).
    A core with no per-file list is compared with its release archive (``trees``)."""
    found = Lists()
    cms = CMSES.find(inventory.cms)
    updater = cms.updater if cms is not None else None
    if updater is None or not inventory.version:
        found.notes.append(f"{visible(inventory.cms, 40)}: no vendor file list to compare with")
        return found
    wanted = [(CORE, inventory.cms, inventory.version, "")]
    for ext in inventory.extensions:
        folder = rules.extensions.get(ext.type)
        if folder and ext.version:
            wanted.append((ext.type, ext.slug, ext.version, folder.format(slug=ext.slug)))
    for type_, slug, version, prefix in wanted:
        what = (
            f"{'core' if type_ == CORE else type_ + ' ' + visible(slug, 60)} {visible(version, 40)}"
        )
        item = UpdateItem(type_, slug, version, version, str(cms.ecosystem) if cms else "")
        try:
            checksums = updater.package_source(item, vendor).checksums
        except SitekeeperError:
            checksums = None
            missing = f"{what}: the vendor has no file list for it"
        else:
            missing = f"{what}: the vendor publishes no per-file list"
        if checksums is None and type_ == CORE and trees is not None:
            await _from_archive(inventory.cms, version, what, trees, found)
            continue
        if checksums is None:
            found.notes.append(missing)
            continue
        try:
            result = await fetcher.get(
                checksums.url, conditional=False, max_bytes=MAX_CHECKSUMS, ok_statuses=(200, 404)
            )
            digests = (
                None
                if result.status == 404 or result.body is None
                else checksums.parse(result.body)
            )
        except FeedError as exc:
            found.notes.append(f"{what}: its file list could not be read ({exc})")
            continue
        if digests is None:
            found.notes.append(f"{what}: the vendor has no file list for this version")
            continue
        found.lists.append(
            VendorList(prefix, what, checksums.algorithm, digests, core=type_ == CORE)
        )
    return found


async def _from_archive(
    kind: str, version: str, what: str, trees: ReleaseTrees, out: Lists
) -> None:
    """Core against every file of its release archive (verified by the vendor's digest)."""
    try:
        tree = await trees.tree(kind, version)
    except FeedError as exc:  # InvalidFeed too: a digest that does not match is no list
        out.notes.append(f"{what}: no release archive to compare with ({exc})")
        return
    if tree is None:
        out.notes.append(f"{what}: the vendor lists no release archive for this version")
        return
    digests = {path: frozenset({md5}) for path, md5 in tree.items()}
    out.lists.append(VendorList("", f"{what} (release archive)", "md5", digests, core=True))
