"""A site's key pages over the API (POST/PATCH /api/sites) and on the edit form:
validated as the CLI validates them (same host only, no credentials, http(s), at most
10), refused input changes nothing, an emptied list clears them."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site
from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import api

ADMIN = "ada@agency.example"
HOSTILE = [
    "https://evil.test/",
    "//evil.test/x",
    "https://admin:pw@bakery.example/",
    "gopher://bakery.example/",
    "/<script>alert(1)</script> x",
]


def _pages(db: Database, site_id: int) -> list[str]:
    with db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        return stored_key_pages(site.check_options)


def test_the_api_sets_validates_and_clears_key_pages(
    live: Live, world: World, db: Database
) -> None:
    client = api(live, world)
    body: dict[str, Any] = {"url": "https://bakery.example", "client_id": world.acme}
    added = client.post("/api/sites", json={**body, "key_pages": ["/shop", "/contact"]})
    assert added.status_code == 201, added.text
    site_id = added.json()["id"]
    assert added.json()["key_pages"] == ["/shop", "/contact"]
    assert _pages(db, site_id) == ["/shop", "/contact"]

    for page in HOSTILE:
        refused = client.patch(f"/api/sites/{site_id}", json={"key_pages": [page]})
        assert refused.status_code == 422, (page, refused.text)
    too_many = client.patch(
        f"/api/sites/{site_id}", json={"key_pages": [f"/p{n}" for n in range(11)]}
    )
    assert too_many.status_code == 422
    assert _pages(db, site_id) == ["/shop", "/contact"]

    kept = client.patch(f"/api/sites/{site_id}", json={"name": "bakery"})
    assert kept.is_success and kept.json()["key_pages"] == ["/shop", "/contact"]
    cleared = client.patch(f"/api/sites/{site_id}", json={"key_pages": []})
    assert cleared.is_success and cleared.json()["key_pages"] == []
    assert _pages(db, site_id) == []


def test_the_edit_form_shows_saves_and_refuses_key_pages(
    live: Live, world: World, db: Database
) -> None:
    site_id = world.acme_sites[0]
    with db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        form = {
            "url": site.url,
            "name": site.name,
            "client_id": str(site.client_id),
            "contract_id": str(site.contract_id or ""),
            "tags": " ".join(t.tag for t in site.tags),
        }
    with closing(login(live.base, ADMIN)) as client:
        page = client.get(f"/sites/{site_id}/edit")
        assert 'name="key_pages"' in page.text

        def send(pages: str) -> Any:
            data = {"csrf_token": csrf_of(client), **form, "key_pages": pages}
            return client.post(f"/sites/{site_id}/edit", data=data)

        done = send("/shop\r\n\r\n/contact?lang=de\r\n")
        assert done.status_code == 303, done.text
        assert _pages(db, site_id) == ["/shop", "/contact?lang=de"]
        assert "/shop\n/contact?lang=de" in client.get(f"/sites/{site_id}/edit").text

        for pages in HOSTILE:
            refused = send(f"/cart\n{pages}")
            assert refused.status_code == 400, pages
            assert "<script>alert" not in refused.text
            assert _pages(db, site_id) == ["/shop", "/contact?lang=de"]

        assert send("").status_code == 303
        assert _pages(db, site_id) == []
