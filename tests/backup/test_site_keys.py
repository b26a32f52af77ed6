"""Backups with keys kept by sitekeeper: ssh reads a 0600 copy in the data directory, only
during the run; the destination never reaches ssh as an argument; old key paths keep working."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.dumps import _over_ssh
from sitekeeper.backup.mirror import SshTransport, rsync_argv
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.errors import UsageError
from sitekeeper.remote.access import SshAccess
from sitekeeper.store.tables import Site
from tests.backup.conftest import add_wp_site


def _spy_ssh(tmp_path: Path) -> tuple[Path, Path]:
    """An ``ssh`` that notes the key file it was given (path, mode, owner) and runs the real one."""
    log = tmp_path / "ssh-calls.log"
    script = tmp_path / "ssh-spy"
    script.write_text(
        "#!/bin/sh\n"
        'prev=""\n'
        'for a in "$@"; do\n'
        '  if [ "$prev" = "-i" ]; then\n'
        f'    printf "%s %s\\n" "$a" "$(stat -c %a "$a")" >> {shlex.quote(str(log))}\n'
        "  fi\n"
        '  prev="$a"\n'
        "done\n"
        'exec ssh "$@"\n'
    )
    script.chmod(0o755)
    return script, log


async def test_ssh_gets_a_private_copy_of_the_stored_key_for_the_run_only(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    spy, log = _spy_ssh(tmp_path)
    ctx = BackupContext(
        db=bctx.db,
        vault=bctx.vault,
        settings=bctx.settings.model_copy(update={"ssh_binary": str(spy)}),
    )
    add_wp_site(ctx.db, ctx.vault, real_wp_sites[0])
    done = await backup_site(ctx, "wp1")
    assert done.ok, done.error
    _check_key_copies(log, ctx.settings.home)


def _check_key_copies(log: Path, home: Path) -> None:
    """Each ssh got a 0600 copy inside the data directory, gone after the run."""
    calls = [line.split() for line in log.read_text().splitlines()]
    assert len(calls) == 2  # rsync's ssh and the dump's ssh
    for path, mode in calls:
        assert Path(path).resolve().is_relative_to(home.resolve())
        assert mode == "600"
        assert not Path(path).exists()
    assert list(home.rglob("ssh-key-*")) == []
    assert "/srv/sites/keys" not in log.read_text()  # never the key file on disk


async def test_a_site_with_an_old_key_path_is_backed_up_and_migrated(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]]
) -> None:
    """An install from before keys were kept: the file is read once, the path dropped."""
    wp1 = real_wp_sites[0]
    site_id = add_wp_site(bctx.db, bctx.vault, wp1)
    with bctx.db.session() as s:
        row = s.get(Site, site_id)
        assert row is not None
        old = {k: v for k, v in row.ssh.items() if k != "key_id"}
        row.ssh = {**old, "key_path": wp1["ssh"]["key"]}
    done = await backup_site(bctx, "wp1")
    assert done.ok, done.error
    with bctx.db.session() as s:
        row = s.get(Site, site_id)
        assert row is not None and "key_path" not in row.ssh
        assert isinstance(row.ssh["key_id"], int)


async def test_a_site_using_another_clients_key_is_not_backed_up(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]]
) -> None:
    wp1, wp2 = real_wp_sites[0], real_wp_sites[1]
    add_wp_site(bctx.db, bctx.vault, wp1, client_name="Client A")
    b_site = add_wp_site(bctx.db, bctx.vault, wp2, client_name="Client B")
    with bctx.db.session() as s:
        a_site = s.scalar(select(Site).where(Site.name == "wp1"))
        assert a_site is not None
        row = s.get(Site, b_site)
        assert row is not None
        row.ssh = {**row.ssh, "key_id": a_site.ssh["key_id"]}  # written behind the checks' back
    with pytest.raises(UsageError, match="belongs to another client"):
        await backup_site(bctx, "wp2")


def test_the_destination_never_reaches_ssh_as_an_argument(tmp_path: Path) -> None:
    """Even an access that skipped validation cannot smuggle an option in: host and user
    travel as option values, the destination is a fixed alias after ``--``."""
    hostile = SshAccess.model_construct(
        host="-oProxyCommand=touch /tmp/pwned", port=22, user="-oLocalCommand=id", docroot="/d"
    )
    transport = SshTransport(hostile, "ssh-ed25519 AAAA", tmp_path / "kh", key_file=Path("k"))
    dump = _over_ssh(transport, ["mysqldump", "db"])
    cut = dump.index("--")
    assert all(not a.startswith("-oProxyCommand") for a in dump)
    assert "HostName=-oProxyCommand=touch /tmp/pwned" in dump[:cut]
    assert dump[cut + 1] == "sitekeeper-pinned-host"
    rsync = rsync_argv(
        transport, "sitekeeper-pinned-host:/d/", "m/", excludes=[], delete_excluded=True
    )
    ssh = shlex.split(rsync[rsync.index("-e") + 1])
    assert ssh[-1] == "--"  # rsync appends the alias (and its command) after it
    assert not any(a.startswith("-oProxyCommand") for a in ssh)
