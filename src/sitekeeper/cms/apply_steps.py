"""The checks one apply records, each timed, and the CMS commands it runs over SSH.

A CMS's installer (Joomla's console, drush) prints what it likes and a hacked or broken
site prints anything: its exit status decides, and what it said is kept cleaned and
bounded, as text a client's server wrote.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace

from sitekeeper.cms import site_files
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.untrusted import clean, shown
from sitekeeper.domain.updates import ApplyResult, Check
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import CommandResult, SshConnection

MAX_MESSAGES = 50
MAX_TEXT = 500


@dataclass
class ApplySteps:
    """What one apply did so far: its checks and the installer's own words."""

    checks: list[Check] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, name: str, ok: bool, detail: str, since: float) -> bool:
        """Record a check timed from ``since``; its outcome."""
        self.checks.append(Check(name, ok, detail, time.monotonic() - since))
        return ok

    def append(self, check: Check, since: float) -> bool:
        """Record a check made elsewhere (its own time, or the time since ``since``)."""
        self.checks.append(replace(check, seconds=check.seconds or time.monotonic() - since))
        return check.ok

    async def command(
        self, conn: SshConnection, name: str, argv: Sequence[str], *, time_limit: float
    ) -> CommandResult | None:
        """Run a CMS command; its output kept as messages; None (recorded as a failed
        check) when it could not be run at all."""
        since = time.monotonic()
        try:
            result = await conn.run(argv, time_limit=time_limit, check=False)
        except SitekeeperError as exc:
            self.add(name, False, str(exc), since)
            return None
        text = (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace")
        lines = [clean(line, MAX_TEXT) for line in text.splitlines()]
        self.messages.extend(line for line in lines if line)
        del self.messages[:-MAX_MESSAGES]
        return result

    async def remove_workspace(self, conn: SshConnection, workspace: str) -> None:
        """The apply's private working folder removed (recorded as "cleanup")."""
        since = time.monotonic()
        removed = not workspace or await site_files.remove_workspace(conn, workspace)
        detail = "temporary files removed" if removed else f"could not remove {workspace}"
        self.add("cleanup", removed, detail, since)

    async def reset(self, reset_opcache: ResetOpcache | None) -> None:
        """PHP-FPM's opcode cache, so the health check runs the files now on disk."""
        if reset_opcache is not None:
            since = time.monotonic()
            self.append(await reset_opcache(), since)

    async def finish(
        self, version: str | None, target: str, since: float, owner: Awaitable[Check]
    ) -> ApplyResult:
        """The last checks of every install: the version now on disk is the target, and
        the files are still the SSH user's (``owner``, recorded as is); the outcome."""
        detail = f"{version or 'no version'} on disk (target {target})"
        self.add("version", version == target, detail, since)
        self.append(await owner, time.monotonic())
        return self.result(version)

    def result(self, version: str | None) -> ApplyResult:
        """The apply's outcome: ok only if every check passed."""
        return ApplyResult(
            ok=all(c.ok for c in self.checks),
            version_on_disk=version,
            checks=tuple(self.checks),
            messages=tuple(self.messages),
            seconds=time.monotonic() - self.started,
        )


def said(result: CommandResult, limit: int = 300) -> str:
    """The end of what a command printed, for a check's detail (stderr first)."""
    text = result.stderr.strip() or result.stdout.strip()
    return shown(text[-4096:], limit) if text else "no output"
