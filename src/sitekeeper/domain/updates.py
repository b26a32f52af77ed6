"""What a safe update is made of: the item to move, the verified package, what applying
it did and what the health checks saw. Pure types shared by the packages cache, the CMS
packages' upgraders, the health checks and the update run, so none imports another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CORE = "core"


@dataclass(frozen=True, slots=True)
class UpdateItem:
    """One package to move on one site, from the version installed to ``target``."""

    type: str  # "core", "plugin", "theme", "module", "component"...
    package: str  # the slug the site knows it by ("akismet"; the CMS's name for core)
    installed: str
    target: str
    ecosystem: str  # whose catalogue named the target (and whose rules order versions)
    security: bool = False  # the target fixes a vulnerability of the installed version
    # where the site says the package's updates come from (an extension's own update
    # server, "drupal.org/project/<name>"): a CMS whose packages are not all at one
    # vendor address finds the release there
    source: str | None = None
    # the version of the CMS the site runs, for a vendor document that names which CMS
    # versions each release is for (Joomla's <targetplatform>); None: not known
    platform: str | None = None

    @property
    def label(self) -> str:
        """How an operator reads it: "plugin akismet 5.0.2 → 5.5"."""
        return f"{self.type} {self.package} {self.installed} → {self.target}"


@dataclass(frozen=True, slots=True)
class VerifiedPackage:
    """A vendor package fetched to the sitekeeper host and checked before any site sees it."""

    item: UpdateItem
    path: str  # the archive in the package cache on the sitekeeper host
    sha256: str  # of the archive, journaled with the run
    url: str  # where it was fetched from
    checksum_source: str  # what it was checked against, in words
    top_folder: str  # the archive's single top folder (the slug, the CMS's for core; "": none)


@dataclass(frozen=True, slots=True)
class Check:
    """One health or apply check: its name, whether it passed and what was seen."""

    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What the CMS's own upgrader reported, and what was found on disk afterwards."""

    ok: bool
    version_on_disk: str | None
    checks: tuple[Check, ...] = ()
    messages: tuple[str, ...] = ()  # the upgrader's own words, cleaned and bounded
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The site seen from outside (and its flags from inside) at one moment."""

    ok: bool
    checks: tuple[Check, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that did not pass."""
        return tuple(c for c in self.checks if not c.ok)
