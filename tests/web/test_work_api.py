"""/api/work through the served app: staff log and remove work; a client user reads only
its own client's entries and changes nothing."""

from __future__ import annotations

import httpx

from tests.web.conftest import Live, World, csrf_of, login


def test_staff_log_list_and_remove_work(live: Live, world: World) -> None:
    ada = httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"})
    shop = world.acme_sites[0]
    on_site = ada.post(
        "/api/work",
        json={"site_id": shop, "minutes": 45, "note": "Form fixed", "date": "2026-11-03"},
    )
    assert on_site.status_code == 201, on_site.text
    entry = on_site.json()
    assert (entry["client"], entry["site"], entry["minutes"]) == ("Acme Corp", "acme-shop", 45)
    assert entry["by"] == "ada@agency.example" and entry["date"] == "2026-11-03"
    whole = ada.post(
        "/api/work",
        json={"client_id": world.globex, "minutes": 20, "note": "Call", "date": "2026-11-30"},
    )
    assert whole.status_code == 201 and whole.json()["site_id"] is None
    other = ada.post(
        "/api/work",
        json={"client_id": world.globex, "minutes": 5, "note": "x", "date": "2026-12-01"},
    )
    assert other.status_code == 201

    november = ada.get("/api/work", params={"period": "2026-11"}).json()
    assert [e["minutes"] for e in november] == [45, 20]
    assert [e["minutes"] for e in ada.get("/api/work", params={"site_id": shop}).json()] == [45]
    globex = ada.get("/api/work", params={"client_id": world.globex}).json()
    assert [e["minutes"] for e in globex] == [20, 5]

    wrong = ada.post(
        "/api/work", json={"site_id": shop, "client_id": world.globex, "minutes": 5, "note": "x"}
    )
    assert wrong.status_code == 422
    assert ada.post("/api/work", json={"minutes": 5, "note": "x"}).status_code == 422
    assert (
        ada.post("/api/work", json={"client_id": world.acme, "minutes": 0, "note": "x"}).status_code
        == 422
    )

    assert ada.delete(f"/api/work/{entry['id']}").status_code == 204
    assert ada.delete(f"/api/work/{entry['id']}").status_code == 404
    assert len(ada.get("/api/work").json()) == 2


def test_a_client_user_reads_only_its_own_work(live: Live, world: World) -> None:
    ada = httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"})
    for client_id, note in ((world.acme, "Acme's update"), (world.globex, "Globex's call")):
        made = ada.post("/api/work", json={"client_id": client_id, "minutes": 10, "note": note})
        assert made.status_code == 201
    alice = login(live.base, "alice@acme.example")
    mine = alice.get("/api/work")
    assert [e["note"] for e in mine.json()] == ["Acme's update"]
    assert alice.get("/api/work", params={"client_id": world.globex}).status_code == 404
    assert alice.get("/api/work", params={"site_id": world.globex_sites[0]}).status_code == 404
    headers = {"X-CSRF-Token": csrf_of(alice)}
    refused = alice.post(
        "/api/work", json={"client_id": world.acme, "minutes": 5, "note": "x"}, headers=headers
    )
    assert refused.status_code == 404  # logging work is the agency's
    assert alice.delete(f"/api/work/{mine.json()[0]['id']}", headers=headers).status_code == 404
    assert len(ada.get("/api/work").json()) == 2
