"""A site's snapshots belong to its identity (``Site.backup_host``), never to its row id.

A removed site's snapshots are kept under its restic host (or purged on request), and a
site added later -- even one handed the same row id -- never sees them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from sqlalchemy import select, text
from typer.testing import CliRunner

from sitekeeper.backup import removal, repository
from sitekeeper.backup.drill import drill
from sitekeeper.backup.identity import snapshot_host
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.restore import restore_to
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.cli import backup_repos, backups, sites
from sitekeeper.cli.main import _Root
from sitekeeper.errors import NotFound
from sitekeeper.store import backups as queries
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, Site
from sitekeeper.vault import Vault
from tests.backup.conftest import add_wp_site
from tests.web.conftest import Live, seed


async def _host_snapshots(ctx: BackupContext, host: str) -> list[str]:
    with ctx.db.session() as s:
        row = repository.open_stored(queries.repository_row(s, None), ctx.vault)  # type: ignore[arg-type]
    return [snap.id for snap in await ctx.restic(row).snapshots(host=host)]


def _remove(ctx: BackupContext, name: str, *, purge: bool) -> removal.Disposal:
    with ctx.db.session() as s:
        site = s.scalar(select(Site).where(Site.name == name))
        assert site is not None
        return removal.remove_site(
            s,
            ctx.vault,
            ctx.settings,
            site,
            purge=purge,
            run=lambda settle: asyncio.run(settle()),
            now=ctx.clock(),
        )


def test_a_new_site_never_sees_a_removed_sites_snapshots_even_with_its_id(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    wp1 = real_wp_sites[0]
    old_id = add_wp_site(bctx.db, bctx.vault, wp1, name="old-client")
    taken = asyncio.run(backup_site(bctx, "old-client"))
    assert taken.ok, taken.error
    with bctx.db.session() as s:
        old_host = snapshot_host(s.get(Site, old_id).backup_host)  # type: ignore[union-attr]

    kept = _remove(bctx, "old-client", purge=False)
    assert [i[:8] for i in kept.snapshots] == [taken.figures.snapshot_id[:8]]  # type: ignore[union-attr]
    assert f"under restic host {old_host}" in kept.sentence()
    assert f"sitekeeper backup-repo snapshots --host {old_host}" in kept.sentence()

    # The next site gets the removed site's row id, as ids were reused before (and as a
    # database restored from a dump may still do): its history must still be its own.
    with bctx.db.session() as s:
        s.execute(
            text("UPDATE sqlite_sequence SET seq = :seq WHERE name = 'sites'"), {"seq": old_id - 1}
        )
    new_id = add_wp_site(bctx.db, bctx.vault, wp1, name="new-client", client_name="Another")
    assert new_id == old_id

    with bctx.db.session() as s:
        assert queries.runs_of(s, new_id) == []  # `backups new-client` is empty
    with pytest.raises(NotFound, match="no snapshots"):
        asyncio.run(restore_to(bctx, "new-client", tmp_path / "restored"))
    assert not (tmp_path / "restored").exists()
    with pytest.raises(NotFound, match="no snapshots"):
        asyncio.run(drill(bctx, "new-client"))
    still = asyncio.run(_host_snapshots(bctx, old_host))
    assert [i[:8] for i in still] == [taken.figures.snapshot_id[:8]]  # type: ignore[union-attr]


def test_sites_made_before_identities_keep_their_snapshots(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Migration 0008 gives existing sites ``site-<id>``: the host their snapshots carry."""
    site_id = add_wp_site(bctx.db, bctx.vault, real_wp_sites[0])
    with bctx.db.session() as s:
        s.get(Site, site_id).backup_host = f"site-{site_id}"  # type: ignore[union-attr]
    taken = asyncio.run(backup_site(bctx, "wp1"))
    assert taken.ok, taken.error
    legacy = f"sitekeeper-site-{site_id}"  # what snapshot_host(site_id) used to return
    found = asyncio.run(_host_snapshots(bctx, legacy))
    assert [i[:8] for i in found] == [taken.figures.snapshot_id[:8]]  # type: ignore[union-attr]


def _app() -> typer.Typer:
    app = typer.Typer(cls=_Root)
    app.add_typer(sites.app, name="site")
    app.command("backups")(backups.backups)
    app.add_typer(backup_repos.repo_app, name="backup-repo")
    return app


def test_site_remove_says_where_the_snapshots_are_and_purges_on_request(
    home: Path, real_wp_sites: list[dict[str, Any]]
) -> None:
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    vault = Vault.from_home(home)
    for site in real_wp_sites[:2]:
        add_wp_site(db, vault, site)
    ctx = BackupContext(db=db, vault=vault, settings=BackupSettings(home=home))
    for name in ("wp1", "wp2"):
        assert asyncio.run(backup_site(ctx, name)).ok
    with db.session() as s:
        hosts = {row.name: snapshot_host(row.backup_host) for row in s.scalars(select(Site))}
    runner, app = CliRunner(), _app()

    def cli(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    kept = cli("site", "remove", "wp1").stderr
    assert "removed site 'wp1'; its 1 snapshot stay in backup repository" in kept
    assert f"under restic host {hosts['wp1']}" in kept
    listed = json.loads(cli("backup-repo", "snapshots", "--host", hosts["wp1"], "--json").stdout)
    assert [(s["host"], s["site"]) for s in listed] == [(hosts["wp1"], None)]
    cli("backup-repo", "forget", "--host", hosts["wp2"], "--yes", code=2)  # wp2 exists
    forgot = cli("backup-repo", "forget", "--host", hosts["wp1"], "--yes").stderr
    assert "its 1 snapshot were deleted" in forgot
    assert (
        json.loads(cli("backup-repo", "snapshots", "--host", hosts["wp1"], "--json").stdout) == []
    )

    purged = cli("site", "remove", "wp2", "--purge-backups").stderr
    assert "removed site 'wp2'; its 1 snapshot were deleted from backup repository" in purged
    assert asyncio.run(_host_snapshots(ctx, hosts["wp2"])) == []
    assert not ctx.settings.site_dir(1).exists()  # the mirror of the client's files is gone
    with db.session() as s:
        events = [
            (e.kind, e.data["host"])
            for e in s.scalars(select(Event).order_by(Event.id))
            if e.kind in ("backup.kept", "backup.purged")
        ]
    assert events == [
        ("backup.kept", hosts["wp1"]),
        ("backup.purged", hosts["wp1"]),
        ("backup.purged", hosts["wp2"]),
    ]
    db.dispose()


def test_the_api_delete_keeps_or_purges(
    sqlite_db: Database, real_wp_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    world = seed(sqlite_db)
    live = Live(sqlite_db, tmp_path / "home")
    try:
        ctx = BackupContext(
            db=sqlite_db,
            vault=Vault.from_home(tmp_path / "home"),
            settings=BackupSettings(home=tmp_path / "home"),
        )
        ids = {s["name"]: add_wp_site(sqlite_db, ctx.vault, s) for s in real_wp_sites[:2]}
        for name in ids:
            assert asyncio.run(backup_site(ctx, name)).ok
        with sqlite_db.session() as s:
            hosts = {n: snapshot_host(s.get(Site, i).backup_host) for n, i in ids.items()}  # type: ignore[union-attr]
        api = httpx.Client(
            base_url=live.base,
            headers={"Authorization": f"Bearer {world.admin_token}"},
            timeout=120,
        )
        assert api.delete(f"/api/sites/{ids['wp1']}").status_code == 204
        assert len(asyncio.run(_host_snapshots(ctx, hosts["wp1"]))) == 1
        purged = api.delete(f"/api/sites/{ids['wp2']}", params={"purge_backups": "true"})
        assert purged.status_code == 204
        assert asyncio.run(_host_snapshots(ctx, hosts["wp2"])) == []
        with sqlite_db.session() as s:
            kinds = {
                e.kind: e.data for e in s.scalars(select(Event)) if e.kind.startswith("backup.")
            }
        assert kinds["backup.kept"]["host"] == hosts["wp1"]
        assert kinds["backup.purged"]["host"] == hosts["wp2"]
    finally:
        live.stop()
