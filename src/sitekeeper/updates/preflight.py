"""Preflight checks of an update that the health check and the CMS's owner check do not
cover: the release's PHP requirement, room on the site's disk for the package, and the
run's exclusive hold on its site.

A full disk half-way through an unpack leaves a site with half its files replaced, and
WordPress's upgrader keeps a copy of the old plugin beside the new one: the site needs
a few times the package's size free before anything starts (``UpdateLimits``).
"""

from __future__ import annotations

import re
import time

from sitekeeper.domain.untrusted import clean
from sitekeeper.domain.updates import Check
from sitekeeper.domain.versions import php_version_compare
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

KiB = 1024


def site_lease(site_id: int) -> str:
    """The lease a run holds on its site: one update of a site at a time, fleet-wide."""
    return f"update-site:{site_id}"


def parse_df(output: str) -> int | None:
    """Bytes available from ``df -Pk``'s second line (POSIX format: the fourth column,
    in KiB), None if the server said something else."""
    lines = output.strip().splitlines()
    if len(lines) < 2:
        return None
    fields = lines[-1].split()
    if len(fields) < 6 or not fields[3].isdigit():
        return None
    return int(fields[3]) * KiB


async def disk_check(conn: SshConnection, docroot: str, needed: int) -> Check:
    """Whether the docroot's filesystem has ``needed`` bytes free."""
    since = time.monotonic()
    try:
        result = await conn.run(["df", "-Pk", "--", docroot], check=False)
    except SitekeeperError as exc:
        return Check("disk", False, f"cannot read the free disk space: {exc}", _since(since))
    free = parse_df(result.text) if result.exit_status == 0 else None
    if free is None:
        said = clean(result.text, 120) or f"exit status {result.exit_status}"
        return Check("disk", False, f"cannot read the free disk space (df: {said})", _since(since))
    detail = f"{_mib(free)} free on the site, {_mib(needed)} needed"
    if free < needed:
        return Check("disk", False, f"refused: only {detail}", _since(since))
    return Check("disk", True, detail, _since(since))


def php_check(label: str, site_php: str | None, needed: str | None) -> Check:
    """Whether the site's PHP (from its inventory) is new enough for the release
    (``needed``: the vendor's lowest PHP for it); unknown on either side passes, saying so."""
    name = "requirements"
    if needed is None:
        return Check(name, True, f"{label}: the feed names no PHP requirement")
    if site_php is None:
        return Check(name, True, f"{label} needs PHP {needed}; the site's PHP is not known")
    try:
        ok = php_version_compare(_numeric(site_php), _numeric(needed)) >= 0
    except ValueError:
        return Check(name, True, f"{label} needs PHP {needed}; cannot compare with {site_php}")
    if not ok:
        return Check(name, False, f"refused: {label} needs PHP {needed}, the site runs {site_php}")
    return Check(name, True, f"{label} needs PHP {needed}, the site runs {site_php}")


def _numeric(version: str) -> str:
    """ "8.2.7-1+deb12u1" -> "8.2.7": a distribution's suffix is no part of PHP's version."""
    head = re.match(r"\d+(\.\d+)*", version.strip())
    if head is None:
        raise ValueError(version)
    return head.group(0)


def _mib(size: int) -> str:
    return f"{size / (1024 * KiB):,.0f} MiB"


def _since(started: float) -> float:
    return time.monotonic() - started
