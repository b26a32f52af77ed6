"""Which packages an update run moves, and to which version: from the site's pending
updates (the ``updates`` view) and what the operator asked for.

Pure: it reads rows, not the database, so the CLI's ``--dry-run``, the API and the
policy loop choose the same way. Anything asked for that cannot be planned comes back
as a refusal with the reason, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import get_args

from sitekeeper.domain.findings import INVENTORY
from sitekeeper.domain.inventory import ExtensionType
from sitekeeper.domain.updates import CORE, UpdateItem
from sitekeeper.store.findings import UpdateRow

UPDATE_STATUS = "update"


@dataclass(frozen=True, slots=True)
class Selection:
    """What was asked for: ``update SITE [--core] [--plugin S…] [--theme S…]
    [--extension TYPE:S…] [--all] [--security] [--to V]``."""

    core: bool = False
    plugins: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    # (type, slug) of any other kind of extension (a Drupal module, a Joomla component)
    extensions: tuple[tuple[str, str], ...] = ()
    everything: bool = False  # --all
    security: bool = False  # only updates that fix a vulnerability, to the nearest fix
    to: str | None = None  # one package only
    branch_only: bool = False  # never beyond the installed branch (a policy's minor updates)
    exact: tuple[tuple[str, str, str], ...] = ()  # (type, slug, target): what a policy decided
    # (slug, sha256) of archives the operator checked elsewhere: a theme (WordPress.org
    # publishes no theme checksums) or a plugin version its checksum service lacks
    pins: tuple[tuple[str, str], ...] = ()

    def pinned(self, slug: str) -> str | None:
        """The sha256 pinned for ``slug``'s archive, if any."""
        return next((digest for s, digest in self.pins if s == slug), None)

    @property
    def named(self) -> list[tuple[str, str | None]]:
        """(type, slug) pairs asked for by name (slug None: the core, whatever its name)."""
        return [
            *([(CORE, None)] if self.core else []),
            *(("plugin", p) for p in self.plugins),
            *(("theme", t) for t in self.themes),
            *self.extensions,
            *((type_, slug) for type_, slug, _ in self.exact),
        ]

    def target_of(self, type_: str, slug: str) -> str | None:
        """The version asked for this package by ``exact`` (None: the planner chooses)."""
        return next((t for ty, s, t in self.exact if (ty, s) == (type_, slug)), None)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A package asked for that this run will not move, and why."""

    type: str
    package: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The items of one site's run, and what was refused on the way."""

    site_id: int
    items: tuple[UpdateItem, ...] = ()
    refused: tuple[Refusal, ...] = field(default_factory=tuple)


class PlanError(ValueError):
    """The selection itself is wrong (bad usage), whatever the site's updates."""


_TYPES = frozenset(get_args(ExtensionType))
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def extension_ref(text: str) -> tuple[str, str]:
    """ "module:views" -> ("module", "views"): an extension of a type the CLI has no own
    option for (PlanError: not TYPE:SLUG)."""
    type_, sep, slug = text.partition(":")
    if not sep or type_ not in _TYPES or not _SLUG.fullmatch(slug):
        types = ", ".join(sorted(_TYPES))
        raise PlanError(f"not TYPE:SLUG with TYPE one of {types}: {text[:60]!r}")
    return type_, slug


def plan(
    site_id: int,
    rows: Sequence[UpdateRow],
    selection: Selection,
    *,
    platform: str | None = None,
) -> Plan:
    """The items to move on ``site_id`` (rows of other sites are ignored); ``platform``:
    the CMS version the site runs, which each item carries (``UpdateItem.platform``)."""
    named = selection.named
    if not named and not (selection.everything or selection.security or selection.branch_only):
        raise PlanError(
            "nothing selected: name --core, --plugin, --theme, --extension, or use --all/--security"
        )
    if selection.to is not None and (len(named) != 1 or selection.everything):
        raise PlanError("--to names a version of exactly one package")
    pending = [r for r in rows if r.site_id == site_id]
    if named:
        chosen: list[UpdateRow] = []
        refused: list[Refusal] = []
        for type_, slug in named:
            row = next((r for r in pending if _is(r, type_, slug)), None)
            if row is None:
                refused.append(Refusal(type_, slug or CORE, "no pending update"))
            else:
                chosen.append(row)
    else:
        chosen, refused = list(pending), []
    items: list[UpdateItem] = []
    for row in chosen:
        item_or_reason = _item(row, selection, platform)
        if isinstance(item_or_reason, UpdateItem):
            items.append(item_or_reason)
        elif named or item_or_reason not in (_NOT_SECURITY, _MAJOR_ONLY):
            refused.append(Refusal(row.type, row.package, item_or_reason))
    return Plan(site_id, tuple(items), tuple(refused))


_NOT_SECURITY = "not a security update (--security)"
_MAJOR_ONLY = "only beyond the installed branch (a major update, which needs approval)"


def _is(row: UpdateRow, type_: str, slug: str | None) -> bool:
    return row.type == type_ and (slug is None or row.package == slug)


def _item(row: UpdateRow, selection: Selection, platform: str | None) -> UpdateItem | str:
    """The row as an item to move, or why it cannot be moved."""
    if row.status != UPDATE_STATUS:
        return f"{row.status}: {row.note}" if row.note else row.status
    if row.basis != INVENTORY or not row.installed:
        return "version known only from outside: inventory the site over SSH first"
    if selection.security and not row.security:
        return _NOT_SECURITY
    exact = selection.target_of(row.type, row.package)
    if exact is not None:
        target: str | None = exact
    elif selection.to is not None:
        target = selection.to
    elif selection.branch_only:
        fixes = row.branch_security or not selection.security
        if row.branch_update is None or not fixes:
            return _MAJOR_ONLY
        target = row.branch_update
    else:
        target = _target(row, selection.security)
    if target is None:
        return "the feed names no newer release"
    if target == row.installed:
        return f"already at {target}"
    return UpdateItem(
        type=row.type,
        package=row.package,
        installed=row.installed,
        target=target,
        ecosystem=row.ecosystem,
        security=row.security,
        source=row.source,
        platform=platform,
    )


def _target(row: UpdateRow, security: bool) -> str | None:
    """The newest release, or for ``--security`` the nearest fix: the installed branch's
    newest when the vendor says it fixes the vulnerability (no major jump for a patch)."""
    if security and row.branch_security and row.branch_update:
        return row.branch_update
    return row.latest or row.branch_update
