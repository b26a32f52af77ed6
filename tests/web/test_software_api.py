"""Software intelligence and backups in the API: a site's inventory, findings and backups,
the fleet's updates and vulnerabilities (the CLI's ``--json`` fields), the advisories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sitekeeper.cli.main import app as cli
from sitekeeper.store.database import Database
from tests.web.conftest import ADVISORY, Live, World, login


def api(live: Live, world: World) -> httpx.Client:
    return httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}, timeout=30
    )


def cli_json(db: Database, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("SITEKEEPER_DATABASE_URL", db.url)
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_updates_and_vulns_have_the_fields_of_the_cli(
    live: Live, world: World, db: Database, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api(live, world)
    for path, command in (
        ("/api/updates", ["updates"]),
        ("/api/updates?security=true", ["updates", "--security"]),
        ("/api/vulns", ["vulns"]),
        ("/api/advisories", ["advisories", "list"]),
    ):
        ours = client.get(path).json()
        theirs = cli_json(db, monkeypatch, *command)
        assert ours, path
        # Same rows, same fields and values; the API adds the site's id for links.
        trimmed = [{k: v for k, v in row.items() if k != "site_id"} for row in ours]
        assert _normalised(trimmed) == _normalised(theirs), path
    security = client.get("/api/updates", params={"security": "true"}).json()
    assert [(u["site"], u["package"], u["advisory_ids"]) for u in security] == [
        ("acme-shop", "contact-form-pro", [ADVISORY])
    ]
    vulns = client.get("/api/vulns").json()
    assert vulns[0]["site_id"] == world.acme_sites[0]
    assert (vulns[0]["certainty"], vulns[0]["basis"], vulns[0]["aliases"]) == (
        "certain",
        "inventory",
        ["CVE-2026-31337"],
    )


def _normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Datetimes as the CLI prints them (``+00:00``) and the API (``Z``) compare equal."""
    return [
        {k: v.replace("Z", "+00:00") if isinstance(v, str) else v for k, v in row.items()}
        for row in rows
    ]


def test_a_sites_inventory_findings_and_backups(live: Live, world: World) -> None:
    client = api(live, world)
    shop = world.acme_sites[0]
    inventory = client.get(f"/api/sites/{shop}/inventory").json()
    assert (inventory["cms"], inventory["version"], inventory["php"]) == (
        "wordpress",
        "6.7.1",
        "8.2.26",
    )
    plugins = {e["slug"]: e for e in inventory["extensions"]}
    assert plugins["akismet"]["active"] is False and plugins["woocommerce"]["version"] == "9.4.2"
    assert plugins["woocommerce"]["update_source"] == "wordpress.org"
    missing = client.get(f"/api/sites/{world.acme_sites[1]}/inventory")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    found = client.get(f"/api/sites/{shop}/findings").json()["items"]
    assert sorted((f["kind"], f["package"]) for f in found) == [
        ("update", "contact-form-pro"),
        ("update", "woocommerce"),
        ("vulnerability", "contact-form-pro"),
    ]
    vuln = next(f for f in found if f["kind"] == "vulnerability")
    assert (vuln["advisory_id"], vuln["fixed_in"], vuln["severity"]) == (ADVISORY, "5.8.2", "high")

    snapshots = client.get(f"/api/sites/{shop}/backups").json()
    assert len(snapshots) == 7 and snapshots[0]["time"] > snapshots[-1]["time"]
    assert snapshots[0]["verified"] is True and snapshots[1]["verified"] is None
    assert snapshots[0]["bytes_added"] == 2_550_000 and len(snapshots[0]["snapshot"]) == 64
    blog = world.acme_sites[1]
    assert len(client.get(f"/api/sites/{blog}/backups").json()) == 6  # good ones only
    every = client.get(f"/api/sites/{blog}/backups", params={"all": "true"}).json()
    assert every[0]["status"] == "failed" and "connection refused" in every[0]["error"]


def test_the_site_list_carries_the_new_columns_and_filters(live: Live, world: World) -> None:
    client = api(live, world)
    vulnerable = client.get("/api/sites", params={"issue": "vulns"}).json()["items"]
    assert [(s["name"], s["vulns"], s["security_updates"]) for s in vulnerable] == [
        ("acme-shop", 1, 1)
    ]
    backup = client.get("/api/sites", params={"issue": "backup", "sort": "backup"}).json()
    assert [(s["name"], s["backup_failed"]) for s in backup["items"]] == [
        ("globex-intranet", False),
        ("acme-blog", True),
    ]
    bad = client.get("/api/sites", params={"issue": "everything"})
    assert bad.status_code == 422


def test_a_client_user_sees_only_its_own_software_and_backups(live: Live, world: World) -> None:
    gus = login(live.base, "gus@globex.example")
    updates = gus.get("/api/updates").json()
    assert [(u["site"], u["package"]) for u in updates] == [("globex-portal", "woocommerce")]
    assert gus.get("/api/vulns").json() == []  # Acme's vulnerability is not his business
    assert gus.get("/api/updates", params={"security": "true"}).json() == []
    portal = world.globex_sites[0]
    assert gus.get(f"/api/sites/{portal}/inventory").json()["extensions"]
    assert len(gus.get(f"/api/sites/{portal}/backups").json()) == 7
    for path in ("inventory", "findings", "backups"):
        answer = gus.get(f"/api/sites/{world.acme_sites[0]}/{path}")
        assert answer.status_code == 404 and "acme" not in answer.text.lower(), path
    # Advisories are the vendors' public data: the same list for every user.
    assert [a["id"] for a in gus.get("/api/advisories").json()] == [ADVISORY]
