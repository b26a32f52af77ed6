"""The backup bandwidth cap: rsync gets ``--bwlimit`` and the transfer keeps to it.

The timing assertions are lower bounds that follow from the cap (a capped
transfer of N bytes cannot finish in less than N / cap seconds, give or take
rsync's 0.1 s of unslept debt), so a fast machine cannot make them flaky;
without the cap the same transfers finish in a fraction of the bound.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sitekeeper.backup.dumps import _over_ssh
from sitekeeper.backup.mirror import SshTransport, pull, push, rsync_argv
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext
from sitekeeper.config import Settings
from sitekeeper.remote.access import SshAccess
from sitekeeper.remote.keys import write_key_file
from tests.backup.conftest import rmtree_as_root, tree_digest
from tests.realsites import private_key, ssh_access

CAP_KBPS = 512
PAYLOAD = 3 * 512 * 1024  # 1.5 MiB: at least 3 s at the cap
FLOOR_S = PAYLOAD / (CAP_KBPS * 1024)
SLACK = 0.85  # rsync may leave up to 0.1 s of its last write unslept
LINK_TARGET = "sub/blob-1.bin"  # rsync counts a symlink's target in the total size


def _real_key() -> str:
    line = Path("/srv/sites/keys/known_hosts").read_text().split("\n")[0]
    return " ".join(line.split()[1:3])


def _transport(site: dict[str, Any], tmp_path: Path, cap: int) -> SshTransport:
    transport = SshTransport(
        ssh_access(site),
        _real_key(),
        tmp_path / "known_hosts",
        bwlimit_kbps=cap,
        key_file=write_key_file(tmp_path / "keys", private_key(site)),
    )
    transport.write_known_hosts()
    return transport


def _offline_access() -> SshAccess:
    """Enough of a site for building commands; nothing connects to it."""
    return SshAccess(host="127.0.0.1", port=22, user="u", docroot="/d")


def _generate(folder: Path, owner: str | None = None) -> None:
    """Incompressible files (rsync's compression cannot shrink them under the cap)."""
    (folder / "sub").mkdir(parents=True)
    chunk = PAYLOAD // 6
    for i in range(6):
        (folder / ("sub" if i % 2 else ".") / f"blob-{i}.bin").write_bytes(os.urandom(chunk))
    os.symlink(LINK_TARGET, folder / "link")
    if owner is not None:
        subprocess.run(["chown", "-hR", f"{owner}:{owner}", str(folder)], check=True)


def test_the_operator_setting_reaches_backup_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, backup_bwlimit_kbps=300)
    assert BackupSettings.from_settings(settings).bwlimit_kbps == 300
    assert BackupSettings.from_settings(Settings(home=tmp_path)).bwlimit_kbps == 0


def test_a_negative_cap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        BackupSettings(home=tmp_path, bwlimit_kbps=-1)
    with pytest.raises(ValueError, match="bandwidth cap"):
        SshTransport(_offline_access(), "ssh-ed25519 AAAA", tmp_path / "kh", bwlimit_kbps=-5)


@pytest.mark.parametrize("delete_excluded", [True, False], ids=["pull", "push"])
@pytest.mark.parametrize(
    ("cap", "expected"), [(0, []), (1, ["--bwlimit=1"]), (12207, ["--bwlimit=12207"])]
)
def test_argv_carries_the_cap_only_when_set(
    tmp_path: Path, delete_excluded: bool, cap: int, expected: list[str]
) -> None:
    transport = SshTransport(
        _offline_access(), "ssh-ed25519 AAAA", tmp_path / "kh", bwlimit_kbps=cap, key_file=Path("k")
    )
    argv = rsync_argv(
        transport, "src/", "dst/", excludes=["/cache/"], delete_excluded=delete_excluded
    )
    assert [a for a in argv if a.startswith("--bwlimit")] == expected
    assert not any("bwlimit" in a for a in argv if not a.startswith("--bwlimit"))
    assert argv[-2:] == ["src/", "dst/"]  # an option, never taken for a path


def test_a_site_worked_as_its_owner_runs_the_remote_rsync_and_dump_through_sudo(
    tmp_path: Path,
) -> None:
    access = SshAccess(host="h", user="deploy", sudo_user="wp1", docroot="/srv/wp1")
    transport = SshTransport(access, "ssh-ed25519 AAAA", tmp_path / "kh", key_file=Path("k"))
    argv = rsync_argv(transport, "src/", "dst/", excludes=[], delete_excluded=False)
    assert "--rsync-path=sudo -n -u wp1 -- rsync" in argv
    dump = _over_ssh(transport, ["mysqldump", "--defaults-extra-file=/dev/stdin", "db"])
    assert dump[-1] == (
        "sudo -n -u wp1 -- sh -c 'cat | \"$@\"' sh mysqldump --defaults-extra-file=/dev/stdin db"
    )
    plain = SshTransport(_offline_access(), "ssh-ed25519 AAAA", tmp_path / "kh", key_file=Path("k"))
    assert not any("rsync-path" in a for a in rsync_argv(plain, "s/", "d/", excludes=[],
                                                        delete_excluded=False))  # fmt: skip


async def test_a_capped_pull_keeps_to_the_cap_and_copies_exactly(
    wp2_guard: dict[str, Any], tmp_path: Path
) -> None:
    folder = Path(wp2_guard["docroot"]) / "sk-test-bwlimit-pull"
    _generate(folder, owner="wp2")
    try:
        transport = _transport(wp2_guard, tmp_path, CAP_KBPS)
        started = time.monotonic()
        stats = await pull(transport, str(folder), tmp_path / "mirror", excludes=[])
        elapsed = time.monotonic() - started
        assert stats.total_size == PAYLOAD + len(LINK_TARGET)
        assert stats.network_bytes >= PAYLOAD
        assert elapsed >= SLACK * FLOOR_S, f"{PAYLOAD} bytes in {elapsed:.2f} s: above the cap"
        assert tree_digest(tmp_path / "mirror") == tree_digest(folder)
    finally:
        rmtree_as_root(folder)


async def test_a_capped_in_place_push_keeps_to_the_cap_and_copies_exactly(
    wp2_guard: dict[str, Any], tmp_path: Path
) -> None:
    restored = tmp_path / "restored"
    _generate(restored)
    target = Path(wp2_guard["docroot"]) / "sk-test-bwlimit-push"
    try:
        transport = _transport(wp2_guard, tmp_path, CAP_KBPS)
        started = time.monotonic()
        stats = await push(transport, restored, str(target), excludes=[])
        elapsed = time.monotonic() - started
        assert stats.total_size == PAYLOAD + len(LINK_TARGET)
        assert elapsed >= SLACK * FLOOR_S, f"{PAYLOAD} bytes in {elapsed:.2f} s: above the cap"
        assert tree_digest(target) == tree_digest(restored)
    finally:
        rmtree_as_root(target)


async def test_backups_and_restores_use_the_configured_cap(
    bctx: BackupContext, wp_sites: dict[str, dict[str, Any]]
) -> None:
    capped = BackupContext(
        db=bctx.db,
        vault=bctx.vault,
        settings=bctx.settings.model_copy(update={"bwlimit_kbps": 777}),
    )
    site = await capped.site_info("wp2")
    # pull (backup_site) and push (restore --in-place) both take this transport
    transport = capped.transport(site, _real_key())
    assert "--bwlimit=777" in rsync_argv(transport, "a/", "b/", excludes=[], delete_excluded=True)
