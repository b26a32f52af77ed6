"""``sitekeeper report CLIENT --json``: the known month's figures as the documented JSON
document (tests/reports/seed.py), and the period options."""

from __future__ import annotations

from typing import Any

import time_machine

from sitekeeper.config import settings
from sitekeeper.store.database import Database
from tests.cli.conftest import Run, as_json
from tests.reports.seed import NOW, seed

SITE_KEYS = {
    "id",
    "name",
    "url",
    "created_at",
    "contract_id",
    "uptime",
    "certificate",
    "backups",
    "updates",
    "security",
    "detections",
    "domain",
}


def seeded(run: Run) -> None:
    run("client", "list")  # creates and migrates the home's database
    database = Database(settings().resolved_database_url)
    try:
        seed(database)
    finally:
        database.dispose()


def test_the_report_of_a_known_month_as_json(run: Run) -> None:
    seeded(run)
    with time_machine.travel(NOW, tick=False):
        data = as_json(run("report", "Bäckerei Müller", "--period", "2026-10", "--json"))
    assert set(data) == {
        "client",
        "period",
        "generated_at",
        "summary",
        "contracts",
        "other_sites",
        "other_work",
    }
    assert data["client"] == {
        "id": 1,
        "name": "Bäckerei Müller",
        "language": "de",
        "timezone": "Europe/Berlin",
    }
    assert data["period"] == {
        "label": "2026-10",
        "first": "2026-10-01",
        "last": "2026-10-31",
        "timezone": "Europe/Berlin",
        "start": "2026-09-30T22:00:00+00:00",
        "end": "2026-10-31T23:00:00+00:00",
    }
    assert data["summary"] == {
        "sites": 3,
        "uptime_pct": 99.912,
        "incidents": 2,
        "downtime_s": 5400,
        "updates_applied": 2,
        "security_fixes": 1,
        "hours_after_release_avg": 49.5,
        "security_hours_after_release_avg": 27.0,
        "rolled_back": 1,
        "backups_taken": 3,
        "backups_failed": 1,
        "last_drill": {
            "at": "2026-10-28T03:00:00+00:00",
            "ok": True,
            "snapshot": "snap0002aaaa",
            "event_id": data["summary"]["last_drill"]["event_id"],
            "site_id": 1,
        },
        "advisories": 2,
        "advisories_fixed": 1,
        "advisories_open": 1,
        "detections": 0,
        "detections_open": 0,
        "work_minutes": 195,
    }
    [contract] = data["contracts"]
    assert (contract["plan"], contract["price"], contract["uptime_pct"]) == (
        "Care",
        "149.00",
        99.912,
    )
    assert contract["work"]["hourly_rate"] == "90.00"
    assert contract["work"]["overage_price"] == "112.50"
    assert (contract["work"]["minutes"], contract["work"]["overage_minutes"]) == (195, 75)
    blog, shop = contract["sites"]
    assert set(shop) == SITE_KEYS
    assert (shop["uptime"]["uptime_pct"], shop["uptime"]["met"]) == (99.866, True)
    assert shop["uptime"]["days"][9] == {
        "day": "2026-10-10",
        "checks": 1440,
        "up_checks": 1380,
        "uptime_pct": 95.833,
        "p50_ms": 110,
        "p95_ms": 310,
    }
    assert [i["cause"] for i in shop["uptime"]["incidents"]] == ["refused", "http_status: 503"]
    assert shop["backups"]["taken"] == 3 and shop["backups"]["run_ids"] == [1, 2, 3, 5]
    applied: list[dict[str, Any]] = shop["updates"]["applied"]
    assert applied[0] | {"event_id": 0} == {
        "type": "plugin",
        "package": "contact-form",
        "from_version": "5.1",
        "to_version": "5.2",
        "security": True,
        "at": "2026-10-18T09:00:00+00:00",
        "run_id": 1,
        "event_id": 0,
        "released_at": "2026-10-17T06:00:00+00:00",
        "hours_after_release": 27.0,
        "failed_step": None,
    }
    assert shop["updates"]["rolled_back"][0]["failed_step"] == "health_after"
    assert shop["security"]["advisories"][0]["hours_to_patch"] == 22.0
    assert blog["uptime"]["counted_from"] == "2026-10-16T10:00:00+00:00"
    assert data["other_sites"][0]["uptime"]["uptime_pct"] is None


def test_the_period_options(run: Run) -> None:
    seeded(run)
    with time_machine.travel(NOW, tick=False):  # 2 November: the default is October
        default = as_json(run("report", "1", "--json"))
        part = as_json(run("report", "1", "--from", "2026-10-16", "--to", "2026-10-31", "--json"))
        text = run("report", "1")
    assert default["period"]["label"] == "2026-10"
    assert part["period"]["label"] == "2026-10-16..2026-10-31"
    assert part["contracts"][0]["work"]["included_minutes"] == 62  # 120 × 16/31
    assert "Bäckerei Müller" in text.stdout and "shop" in text.stdout
    both = run("report", "1", "--period", "2026-10", "--from", "2026-10-01", ok=False)
    assert both.exit_code == 2 and "not both" in both.stderr
    nobody = run("report", "nobody", ok=False)
    assert nobody.exit_code == 2 and "no client" in nobody.stderr
