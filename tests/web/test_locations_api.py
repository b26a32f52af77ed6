"""/api/sites/{id}/locations: a site's checks per check location (issue 13 §3)."""

from __future__ import annotations

from tests.web.conftest import Live, World
from tests.web.test_pages_and_api import api


def test_a_site_checked_from_one_place_has_one_location(live: Live, world: World) -> None:
    client = api(live, world)
    figures = client.get(f"/api/sites/{world.acme_sites[1]}/locations", params={"hours": 48})
    assert figures.status_code == 200, figures.text
    [default] = figures.json()
    assert default["location"] == "default" and default["checks"] > 0
    assert set(default) == {
        "location", "checks", "uptime_pct", "avg_ms", "p50_ms", "p95_ms", "max_ms"
    }  # fmt: skip
    assert client.get("/api/sites/999999/locations").status_code == 404
