"""Drupal's versions: legacy contrib versions ("8.x-1.2") beside semver ("2.0.3"), ordered
as packages.drupal.org's Composer orders them, and the ecosystem declared with those rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sitekeeper.domain.versions import (
    Ecosystem,
    VersionScheme,
    composer_branch,
    composer_compare,
)

_DRUPAL_VERSION = re.compile(
    r"""^(?:(?P<core>\d+\.x)-)?
        (?P<major>\d+)
        (?:\.(?P<minor>\d+|x))?
        (?:\.(?P<patch>\d+|x))?
        (?:-(?P<extra>(?:alpha|beta|rc|unstable)\d+|dev))?$""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class DrupalVersion:
    """A Drupal core or contrib version: "10.2.3", "7.98", "8.x-1.2", "2.0.3", "3.0.0-rc1"."""

    core: str | None  # "8.x" in legacy contrib versions, else None
    major: int
    minor: int | None  # None for "x" (dev branches)
    patch: int | None
    extra: str | None  # "beta3", "rc1", "dev"
    text: str

    @classmethod
    def parse(cls, text: str) -> DrupalVersion:
        """Parse, or ValueError: Drupal has no other version shapes worth guessing at."""
        match = _DRUPAL_VERSION.match(text.strip().lower())
        if not match:
            raise ValueError(f"not a Drupal version: {text!r}")
        core, minor, patch = match.group("core"), match.group("minor"), match.group("patch")
        if core and patch is not None:
            raise ValueError(f"legacy contrib versions have two parts: {text!r}")
        if minor is None and patch is None and not core:
            raise ValueError(f"not a Drupal version: {text!r}")
        if "x" in (minor or "", patch or "") and (match.group("extra") or "").lower() != "dev":
            raise ValueError(f"a branch name, not a Drupal version: {text!r}")
        return cls(
            core=core,
            major=int(match.group("major")),
            minor=None if minor is None or not minor.isdigit() else int(minor),
            patch=None if patch is None or not patch.isdigit() else int(patch),
            extra=(match.group("extra") or "").lower() or None,
            text=text.strip(),
        )

    @property
    def semver(self) -> bool:
        """True for three-part versions (core 8+ and semver contrib), "2.0.x-dev" included."""
        return self.core is None and re.match(r"^\d+\.(\d+|x)\.(\d+|x)", self.text) is not None

    def branch(self) -> str:
        """The release branch: "8.x-1.x", "2.0.x", "10.2.x", or "7.x" for Drupal 7 core."""
        if self.core:
            return f"{self.core}-{self.major}.x"
        if self.semver and self.minor is not None:
            return f"{self.major}.{self.minor}.x"
        return f"{self.major}.x"

    def branch_prefix(self) -> str:
        """The branch as Drupal's ``supported_branches`` writes it ("8.x-1.", "10.4.")."""
        return self.branch()[:-1]

    def to_composer(self) -> str:
        """The version packages.drupal.org publishes: "8.x-2.0-beta3" -> "2.0-beta3"."""
        parts = [str(self.major)]
        for part in (self.minor, self.patch):
            if part is None:
                break
            parts.append(str(part))
        text = ".".join(parts)
        if self.extra == "dev":
            branch_dev = self.minor is None or (self.semver and self.patch is None)
            return text + (".x-dev" if branch_dev else "-dev")
        if self.extra:
            return f"{text}-{self.extra.replace('unstable', 'alpha')}"
        return text


def drupal_branch(version: str) -> str:
    """Shortcut for ``DrupalVersion.parse(version).branch()``."""
    return DrupalVersion.parse(version).branch()


def drupal_compare(left: str, right: str) -> int:
    """Order Drupal versions (either style) the way packages.drupal.org's Composer does."""
    return composer_compare(_drupal_as_composer(left), _drupal_as_composer(right))


def _drupal_as_composer(version: str) -> str:
    try:
        return DrupalVersion.parse(version).to_composer()
    except ValueError:
        return version  # OSV ranges already use Composer versions ("2.5.0")


def _drupal_branch_any(version: str) -> str:
    try:
        return drupal_branch(version)
    except ValueError:
        return composer_branch(version) + ".x"


def _drupal_line(version: str) -> tuple[str | int | None, ...]:
    parsed = DrupalVersion.parse(version)
    return (parsed.core, parsed.major)


DRUPAL_SCHEME = VersionScheme(
    drupal_compare, _drupal_branch_any, line=_drupal_line, composer_form=_drupal_as_composer
)
DRUPAL = Ecosystem.declare("drupal", DRUPAL_SCHEME)
