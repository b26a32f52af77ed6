"""What a site runs: CMS core, PHP, database server and extensions, and how that changed.

An inventory is an observation (stored as JSON); :func:`diff` turns two of
them into the installed / removed / upgraded facts the journal records.
Every string in it came from a client's server, so the models clean them
(no control characters, one line, bounded) whoever built them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sitekeeper.domain.untrusted import clean, visible

MAX_TEXT = 500  # characters kept of any collected string (names, versions, sources)
MAX_WARNING = 1000

# Each CMS's own words: WordPress plugin/theme; Joomla component, module, plugin,
# template, library, package; Drupal module/theme.
ExtensionType = Literal["plugin", "theme", "component", "module", "template", "library", "package"]


class Extension(BaseModel):
    """One installed extension (plugin, theme, module, component, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ExtensionType
    slug: str = Field(description="Directory name (or file name without .php for a single file).")
    name: str
    version: str | None = None
    active: bool = False
    update_source: str = Field(
        description="Where updates come from, as the CMS names it (its directory's host, or "
        "the update server an extension declares); the feeds refine it."
    )
    file: str | None = Field(
        default=None,
        description="Main file relative to its type's directory, e.g. akismet/akismet.php.",
    )

    @field_validator("slug", "name", "version", "update_source", "file")
    @classmethod
    def _collected(cls, value: str | None) -> str | None:
        return None if value is None else clean(value, MAX_TEXT)

    @property
    def key(self) -> tuple[ExtensionType, str]:
        """Identity across inventories: the same slug may be a plugin and a theme."""
        return (self.type, self.slug)


class Inventory(BaseModel):
    """A site's software at one moment."""

    model_config = ConfigDict(extra="forbid")

    cms: str
    version: str | None = None
    php: str | None = None
    database: str | None = None
    extensions: list[Extension] = Field(default_factory=list)
    collected_at: datetime
    warnings: list[str] = Field(
        default_factory=list, description="What was skipped and why (symlinks, unreadable files)."
    )

    @field_validator("cms", "version", "php", "database")
    @classmethod
    def _collected(cls, value: str | None) -> str | None:
        return None if value is None else clean(value, MAX_TEXT)

    @field_validator("warnings")
    @classmethod
    def _one_line_each(cls, value: list[str]) -> list[str]:
        # Our sentences around remote paths: controls shown (a path stays recognisable).
        return [visible(w, MAX_WARNING) for w in value]

    def extension(self, type_: ExtensionType, slug: str) -> Extension | None:
        """The extension of that type and slug, if installed."""
        return next((e for e in self.extensions if e.key == (type_, slug)), None)


class VersionChange(BaseModel):
    """Something that stayed installed but changed version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["core"] | ExtensionType  # any extension a CMS inventories moves
    slug: str
    name: str
    from_version: str | None
    to_version: str | None


class InventoryDiff(BaseModel):
    """What changed between two inventories of the same site."""

    model_config = ConfigDict(extra="forbid")

    installed: list[Extension] = Field(default_factory=list)
    removed: list[Extension] = Field(default_factory=list)
    upgraded: list[VersionChange] = Field(default_factory=list)
    downgraded: list[VersionChange] = Field(default_factory=list)
    activated: list[Extension] = Field(default_factory=list)
    deactivated: list[Extension] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing changed."""
        return not (
            self.installed
            or self.removed
            or self.upgraded
            or self.downgraded
            or self.activated
            or self.deactivated
        )


def diff(old: Inventory, new: Inventory) -> InventoryDiff:
    """Installed, removed, upgraded/downgraded (core too) and (de)activated extensions."""
    before = {e.key: e for e in old.extensions}
    after = {e.key: e for e in new.extensions}
    result = InventoryDiff(
        installed=[after[k] for k in sorted(after.keys() - before.keys())],
        removed=[before[k] for k in sorted(before.keys() - after.keys())],
    )
    if old.version != new.version:
        _file_change(result, VersionChange(
            type="core", slug=new.cms, name=new.cms,
            from_version=old.version, to_version=new.version,
        ))  # fmt: skip
    for key in sorted(before.keys() & after.keys()):
        was, now = before[key], after[key]
        if was.version != now.version:
            change = VersionChange(
                type=now.type,
                slug=now.slug,
                name=now.name,
                from_version=was.version,
                to_version=now.version,
            )
            _file_change(result, change)
        if now.active and not was.active:
            result.activated.append(now)
        elif was.active and not now.active:
            result.deactivated.append(now)
    return result


def _file_change(result: InventoryDiff, change: VersionChange) -> None:
    if version_key(change.to_version) < version_key(change.from_version):
        result.downgraded.append(change)
    else:
        result.upgraded.append(change)


def version_key(version: str | None) -> tuple[tuple[int, int | str], ...]:
    """A sort key for loose versions ("6.1.9" > "6.1" > "6.1-beta2"); None sorts first.

    Numbers compare as numbers; a pre-release word after a number sorts before
    the release, which is how WordPress and PHP's version_compare treat them.
    """
    if version is None:
        return ()
    parts: list[tuple[int, int | str]] = []
    for token in re.findall(r"\d+|[a-zA-Z]+", version):
        if token.isdigit():
            parts.append((2, int(token)))
        else:
            parts.append((0, token.lower()))
    parts.append((1, 0))  # end of version: after pre-release words, before more numbers
    return tuple(parts)
