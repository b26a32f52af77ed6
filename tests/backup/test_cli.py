"""The backup commands end to end, as the lead registers them on the root app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from sitekeeper.cli import backup_repos, backups
from sitekeeper.cli.main import _Root
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event
from sitekeeper.vault import Vault
from tests.backup.conftest import add_wp_site, tree_digest

BACKUP_KEYS = {
    "site_id", "site", "ok", "run_id", "snapshot", "files", "bytes_added", "bytes_transferred",
    "database_bytes", "duration_s", "error",
}  # fmt: skip
RUN_KEYS = {
    "run_id", "snapshot", "time", "status", "reason", "files", "files_new", "files_changed",
    "bytes_total", "bytes_added", "bytes_transferred", "database_bytes", "duration_s",
    "verified", "verified_at", "error", "kept_until",
}  # fmt: skip


def _app() -> typer.Typer:
    """The commands on a root with sitekeeper's error handling (main.py's group class)."""
    app = typer.Typer(cls=_Root)
    app.command("backup")(backups.backup)
    app.command("backups")(backups.backups)
    app.command("restore")(backups.restore)
    app.command("drill")(backups.drill)
    app.add_typer(backup_repos.repo_app, name="backup-repo")
    return app


@pytest.fixture
def cli(home: Path, real_wp_sites: list[dict[str, Any]]) -> Any:
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    vault = Vault.from_home(home)
    for site in real_wp_sites[:2]:
        add_wp_site(db, vault, site)
    db.dispose()
    runner, app = CliRunner(), _app()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run


def test_backup_list_restore_drill(cli: Any, tmp_path: Path) -> None:
    one = json.loads(cli("backup", "wp1", "--json").stdout)
    assert len(one) == 1
    assert set(one[0]) == BACKUP_KEYS
    assert one[0]["ok"] is True

    both = json.loads(cli("backup", "--all", "--json", "--concurrency", "2").stdout)
    assert sorted(o["site"] for o in both) == ["wp1", "wp2"]
    assert all(o["ok"] for o in both)

    listed = json.loads(cli("backups", "wp1", "--json").stdout)
    assert [set(r) for r in listed] == [RUN_KEYS, RUN_KEYS]
    assert listed[0]["snapshot"] == next(o["snapshot"] for o in both if o["site"] == "wp1")
    assert listed[1]["bytes_added"] > listed[0]["bytes_added"]  # the first one stored most

    target = tmp_path / "restored"
    restored = json.loads(
        cli("restore", "wp1", listed[1]["snapshot"], "--to", str(target), "--json").stdout
    )
    assert restored["snapshot"].startswith(listed[1]["snapshot"])
    assert tree_digest(target / "files") == tree_digest(Path("/srv/sites/wp1"))

    verdict = json.loads(cli("drill", "wp1", "--json").stdout)
    assert verdict["ok"] is True
    assert json.loads(cli("backups", "wp1", "--json").stdout)[0]["verified"] is True

    cli("restore", "wp1", "--to", str(target), code=2)  # not empty: refused
    cli("restore", "wp1", code=2)  # neither --to nor --in-place
    cli("backup", code=2)


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("/etc/passwd", "/etc/passwd is not a directory"),
        ("/etc/passwd/below", "cannot create /etc/passwd/below: Not a directory"),
        ("/proc/sitekeeper-nowhere/x", "cannot create /proc/sitekeeper-nowhere/x"),
    ],
)
def test_restore_to_a_file_or_an_impossible_path_is_one_error_line(
    cli: Any, home: Path, target: str, said: str
) -> None:
    result = cli("restore", "wp1", "--to", target, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and said in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    # Nothing started: restic never ran (no repository was made) and nothing was journaled.
    assert not (home / "backups" / "repository").exists()
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    with db.session() as s:
        assert [e.kind for e in s.scalars(select(Event)) if e.kind.startswith("backup.")] == []
    db.dispose()


def test_repository_commands(cli: Any, tmp_path: Path) -> None:
    secret = tmp_path / "s3.secret"
    secret.write_text("very-secret\n")
    cli(
        "backup-repo",
        "set",
        "s3",
        "http://127.0.0.1:9/bucket",
        "--s3-key-id",
        "AK",
        "--s3-secret-file",
        str(secret),
    )
    shown = json.loads(cli("backup-repo", "list", "--json").stdout)
    assert shown == [
        {"id": 1, "client": None, "kind": "s3", "location": "s3:http://127.0.0.1:9/bucket"}
    ]
    cli("backup-repo", "set", "local", "relative/path", code=2)
