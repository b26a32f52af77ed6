"""Preflight checks of an update that the health check and the CMS's owner check do not
cover: that a configured ``sudo -u OWNER`` works, the release's PHP requirement, room on
the site's disk for the package, and the run's exclusive hold on its site.

A full disk half-way through an unpack leaves a site with half its files replaced, and
WordPress's upgrader keeps a copy of the old plugin beside the new one: the site needs
a few times the package's size free before anything starts (``UpdateLimits``).
"""

from __future__ import annotations

import re
import time

from sitekeeper.domain.untrusted import clean, server_said
from sitekeeper.domain.updates import Check
from sitekeeper.domain.versions import php_version_compare
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.as_owner import OwnerConnection
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


async def sudo_check(conn: OwnerConnection, login: str) -> Check:
    """Whether ``login`` may run commands as the files' owner without a password
    (``sudo -n -u OWNER true``). If not, the update is refused: sitekeeper never writes
    the files as the SSH user instead."""
    since = time.monotonic()
    owner = conn.owner
    try:
        result = await conn.run(["true"], check=False)  # sudo -n -u OWNER -- true
    except SitekeeperError as exc:
        return Check("sudo", False, f"cannot run sudo on the site: {exc}", _since(since))
    if result.exit_status != 0:
        said = server_said(result.stderr, 200) if result.stderr.strip() else "nothing"
        why = (
            f"refused: {login} cannot run commands as {owner} through sudo without a "
            f"password (sudo -n -u {owner} true: exit {result.exit_status}, it said {said}); "
            f"the files are never written as {login} instead (a sudoers rule such as "
            f"'{login} ALL=({owner}) NOPASSWD: ALL', or log in as {owner})"
        )
        return Check("sudo", False, why, _since(since))
    return Check("sudo", True, f"{login} works as {owner} through sudo", _since(since))


def requirement_check(label: str, what: str, site_has: str | None, needed: str | None) -> Check:
    """Whether the site's ``what`` (PHP, the database server: from its inventory) is new
    enough for the release (``needed``: the vendor's lowest version for it); unknown on
    either side passes, saying so. A MariaDB's 10.x is compared as the number it is, as
    WordPress itself compares it with its MySQL requirement."""
    name = "requirements"
    if needed is None:
        return Check(name, True, f"{label}: the feed names no {what} requirement")
    if site_has is None:
        return Check(name, True, f"{label} needs {what} {needed}; the site's {what} is not known")
    try:
        ok = php_version_compare(_numeric(site_has), _numeric(needed)) >= 0
    except ValueError:
        return Check(name, True, f"{label} needs {what} {needed}; cannot compare with {site_has}")
    if not ok:
        return Check(
            name, False, f"refused: {label} needs {what} {needed}, the site runs {site_has}"
        )
    return Check(name, True, f"{label} needs {what} {needed}, the site runs {site_has}")


def _numeric(version: str) -> str:
    """ "8.2.7-1+deb12u1" -> "8.2.7", "10.11.19-MariaDB-0+deb12u1" -> "10.11.19": a
    distribution's suffix is no part of the version."""
    head = re.match(r"\d+(\.\d+)*", version.strip())
    if head is None:
        raise ValueError(version)
    return head.group(0)


def _mib(size: int) -> str:
    return f"{size / (1024 * KiB):,.0f} MiB"


def _since(started: float) -> float:
    return time.monotonic() - started
