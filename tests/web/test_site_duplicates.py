"""Over the API, a URL already registered is refused unless ``allow_duplicate`` is given."""

from __future__ import annotations

from tests.web.conftest import Live, World
from tests.web.test_actions_api import api


def test_creating_a_site_with_a_registered_url(live: Live, world: World) -> None:
    client = api(live, world)
    body = {"url": "HTTPS://Acme-Shop.example:443", "client_id": world.globex}
    refused = client.post("/api/sites", json=body)
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "already registered as site 'acme-shop'" in message and "allow_duplicate" in message
    added = client.post("/api/sites", json={**body, "allow_duplicate": True})
    assert added.status_code == 201, added.text
    assert added.json()["url"] == "https://acme-shop.example/"
    # Moving a site onto another's URL is the same question.
    other = world.globex_sites[0]
    moved = client.patch(f"/api/sites/{other}", json={"url": "https://acme-blog.example"})
    assert moved.status_code == 422
    assert client.patch(
        f"/api/sites/{other}", json={"url": "https://acme-blog.example", "allow_duplicate": True}
    ).is_success


def test_a_json_import_reports_the_duplicate_item(live: Live, world: World) -> None:
    client = api(live, world)
    items = [
        {"url": "https://new.example", "name": "new", "client": world.acme},
        {"url": "https://acme-shop.example", "name": "shop-copy", "client": world.acme},
    ]
    refused = client.post("/api/sites/import", json={"sites": items})
    assert refused.status_code == 422
    assert refused.json()["error"]["problems"] == [
        f"item 2: https://acme-shop.example/ is already registered as site 'acme-shop'"
        f" (id {world.acme_sites[0]}); set allow_duplicate to import it anyway"
    ]
    items[1]["allow_duplicate"] = True
    done = client.post("/api/sites/import", json={"sites": items})
    assert done.status_code == 200, done.text
    assert sorted(done.json()["added_names"]) == ["new", "shop-copy"]
