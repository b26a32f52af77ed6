"""Over the API, a site's check kind is a registered probe's, its options validated by it."""

from __future__ import annotations

import pytest

from sitekeeper.store.tables import Site
from tests.plugins.echo import echo
from tests.web.conftest import Live, World
from tests.web.test_actions_api import api

__all__ = ["echo"]


def _stored(live: Live, site_id: int) -> object:
    with live.app.state.db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None
        return site.check_options


@pytest.mark.usefixtures("echo")
def test_the_api_sets_a_sites_check_kind(live: Live, world: World) -> None:
    client = api(live, world)
    body = {"url": "https://echo.example", "client_id": world.acme, "probe": "echo"}
    added = client.post("/api/sites", json={**body, "check": {"greeting": "hi"}})
    assert added.status_code == 201, added.text
    site_id = added.json()["id"]
    assert _stored(live, site_id) == {"probe": "echo", "greeting": "hi"}

    refused = client.patch(f"/api/sites/{site_id}", json={"check": {"keyword": "Welcome"}})
    assert refused.status_code == 422
    assert "invalid echo check option keyword" in refused.json()["error"]["message"]
    refused = client.patch(f"/api/sites/{site_id}", json={"probe": "nosuch"})
    assert refused.status_code == 422
    assert "(known: echo, http)" in refused.json()["error"]["message"]

    changed = client.patch(
        f"/api/sites/{site_id}", json={"probe": "http", "check": {"keyword": "Welcome"}}
    )
    assert changed.is_success, changed.text
    stored = _stored(live, site_id)
    assert isinstance(stored, dict) and "probe" not in stored and stored["keyword"] == "Welcome"
