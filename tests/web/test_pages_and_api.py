"""Business objects through the pages and the API, with the store's own validation."""

from __future__ import annotations

import httpx

from tests.web.conftest import Live, World, csrf_of, login


def api(live: Live, world: World) -> httpx.Client:
    return httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}
    )


def test_site_crud_and_list_through_the_api(live: Live, world: World) -> None:
    client = api(live, world)
    created = client.post(
        "/api/sites",
        json={"url": "HTTPS://Shop.Initech.Example", "client_id": world.acme, "tags": ["shop"]},
    )
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["url"] == "https://shop.initech.example/" and site["state"] == "unknown"
    assert site["contract_id"] == world.acme_contract  # the client's only active contract
    patched = client.patch(f"/api/sites/{site['id']}", json={"paused": True, "tags": ["a", "b"]})
    assert patched.json()["state"] == "paused" and patched.json()["tags"] == ["a", "b"]
    page = client.get("/api/sites", params={"per_page": 2, "page": 2}).json()
    assert page["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    down = client.get("/api/sites", params={"state": "down"}).json()
    assert {s["name"] for s in down["items"]} == {"acme-shop", "globex-portal"}
    assert client.delete(f"/api/sites/{site['id']}").status_code == 204
    gone = client.get(f"/api/sites/{site['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"error": {"code": "not_found", "message": f"no site {site['id']}"}}


def test_api_errors_have_one_shape(live: Live, world: World) -> None:
    client = api(live, world)
    bad_url = client.post("/api/sites", json={"url": "ftp://x", "client_id": world.acme})
    assert bad_url.status_code == 422
    assert bad_url.json()["error"]["code"] == "invalid"
    assert "scheme must be http or https" in bad_url.json()["error"]["message"]
    malformed = client.post("/api/sites", json={"url": 5})
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "invalid_request"
    in_use = client.delete(f"/api/plans/{world.plan}")
    assert in_use.status_code == 422 and "used by 2 contract" in in_use.json()["error"]["message"]


def test_history_endpoints(live: Live, world: World) -> None:
    client = api(live, world)
    incidents = client.get("/api/incidents", params={"open": "true"}).json()
    assert {i["site"] for i in incidents} == {"acme-shop", "globex-portal"}
    days = client.get(f"/api/sites/{world.acme_sites[1]}/uptime", params={"days": 7}).json()
    assert len(days) == 7 and days[-2]["checks"] == 1440 and days[-1]["checks"] >= 1
    journal = client.get("/api/journal", params={"site_id": world.acme_sites[0]}).json()
    kinds = [e["kind"] for e in journal]
    assert kinds[-1] == "site.added"  # newest first: the site came before what it went through
    assert kinds[0] == "backup.verified"
    assert kinds.count("backup.taken") == 7 and kinds.count("finding.opened") == 3
    assert "inventory.changed" in kinds
    # Words beside the raw data (a stable contract): what the timeline and reports say.
    taken = next(e for e in journal if e["kind"] == "backup.taken")
    assert taken["title"] == "Backup taken" and taken["data"]["bytes_added"] == 2_550_000
    assert taken["summary"].startswith("18,040 files, 2.4 MiB new (1.8 GiB in all), 32.5 s")
    assert client.get("/api/alerts").status_code == 200


def test_the_site_journal_reads_as_sentences(live: Live, world: World) -> None:
    page = login(live.base, "ada@agency.example").get(f"/sites/{world.acme_sites[0]}").text
    journal = page[page.index('<ol class="timeline"') :]
    assert "Backup taken" in journal and "2.4 MiB new (1.8 GiB in all)" in journal
    assert "Vulnerability found" in journal and "contact-form-pro 5.8.1 · WF-2026-0142" in journal
    assert '<code class="kind">backup.taken</code>' in journal  # still there to grep for
    assert "bytes_added:" not in journal and "title=" not in journal


def test_plans_contracts_and_the_business_page(live: Live, world: World) -> None:
    ada = login(live.base, "ada@agency.example")
    form = {
        "name": "Premium",
        "check_interval": "1m",
        "price": "149.90",
        "currency": "eur",
        "tls_warn_days": "21",
        "backup": "daily",
        "update_policy": "security",
        "report": "monthly",
        "csrf_token": csrf_of(ada),
    }
    made = ada.post("/plans", data=form)
    assert made.status_code == 303
    plan_id = int(made.headers["location"].rsplit("/", 1)[1])
    too_fast = ada.post(f"/plans/{plan_id}", data={**form, "check_interval": "2s"})
    assert too_fast.status_code == 400 and "too short" in too_fast.text
    contract = ada.post(
        "/contracts",
        data={
            "client_id": str(world.acme),
            "plan_id": str(plan_id),
            "start": "2026-01-01",
            "end": "2025-01-01",
            "csrf_token": csrf_of(ada),
        },
    )
    assert contract.status_code == 400 and "before its start" in contract.text
    business = ada.get("/business").text
    assert "98.00" in business and "Globex Inc" in business  # MRR; Globex ends within 60 days
    in_use = ada.post(f"/plans/{world.plan}/delete", data={"csrf_token": csrf_of(ada)})
    assert in_use.status_code == 400 and "used by 2 contract" in in_use.text
    assert (
        ada.post(f"/plans/{plan_id}/delete", data={"csrf_token": csrf_of(ada)}).status_code == 303
    )
    assert ada.get(f"/plans/{world.plan}").status_code == 200
    for missing in ("/plans/999999", "/clients/999999", "/contracts/999999"):
        assert ada.get(missing).status_code == 404


def test_a_poll_announces_only_news(live: Live, world: World) -> None:
    # The fleet's live region is updated out of band, and only when its text changes.
    ada = login(live.base, "ada@agency.example")
    assert (
        '<p id="fleet-status" class="sr-only" role="status">4 sites · 2 down</p>'
        in ada.get("/").text
    )
    news = ada.get("/fleet/rows", params={"state": "down"}).text
    assert '<p id="fleet-status" hx-swap-oob="innerHTML">Showing 2 of 4 sites · 2 down</p>' in news
    same = ada.get("/fleet/rows", params={"said": "4 sites · 2 down"}).text
    assert "fleet-status" not in same and "aria-live" not in same
