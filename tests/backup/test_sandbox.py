"""The drill sandbox's own rules: who PHP runs as and what bubblewrap lets it see."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.sandbox import RunAs, prepare, system_binds

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@needs_root
def test_never_root() -> None:
    with pytest.raises(BackupError, match="refusing to run a restored site as root"):
        RunAs.resolve("root")


@needs_root
def test_a_missing_configured_user_is_an_error_and_the_default_falls_back() -> None:
    with pytest.raises(BackupError, match="'no-such-drill-user' does not exist"):
        RunAs.resolve("no-such-drill-user")
    chosen = RunAs.resolve(None)
    assert chosen.uid not in (None, 0)
    assert chosen.name in ("sitekeeper-drill", "nobody")


def test_only_system_files_are_bound_and_private_paths_are_masked() -> None:
    args = system_binds([Path("/usr/share/sitekeeper-data"), Path("/var/lib/sitekeeper")])
    bound = {args[i + 1] for i, a in enumerate(args) if a in ("--ro-bind", "--ro-bind-try")}
    assert "/usr" in bound
    assert not {"/", "/root", "/home", "/srv", "/var", "/etc"} & bound
    assert "--bind" not in args  # nothing writable but what the drill adds (the site)
    masked = {args[i + 1] for i, a in enumerate(args) if a == "--tmpfs"}
    # A data directory under a bound tree is hidden; one outside every bind is never seen.
    assert {"/tmp", "/var/tmp", "/usr/share/sitekeeper-data"} <= masked
    assert "/var/lib/sitekeeper" not in masked
    assert {"--unshare-all", "--die-with-parent", "--new-session"} <= set(args)


async def test_a_missing_bubblewrap_is_said() -> None:
    sandbox = await prepare("no-such-bwrap-binary", None)
    assert not sandbox.isolated
    assert sandbox.note.startswith("no sandbox: bubblewrap is not installed")
