"""/api/users through the served app: everything ``sitekeeper user ...`` does, for admins only."""

from __future__ import annotations

import httpx
import pytest

from sitekeeper.domain.users import MIN_PASSWORD
from sitekeeper.errors import UsageError
from sitekeeper.store import users
from sitekeeper.store.database import Database
from tests.web.conftest import PASSWORD, Live, World, csrf_of, login


def bearer(live: Live, token: str) -> httpx.Client:
    return httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {token}"})


def can_log_in(live: Live, email: str, password: str) -> bool:
    try:
        login(live.base, email, password)
    except AssertionError:
        return False
    return True


def test_an_admin_adds_lists_changes_and_removes_users(live: Live, world: World) -> None:
    ada = bearer(live, world.admin_token)
    chosen = ada.post(
        "/api/users",
        json={"email": "Nina@Agency.Example", "role": "technician", "password": "nina's own pass"},
    )
    assert chosen.status_code == 201, chosen.text
    nina = chosen.json()
    assert nina["email"] == "nina@agency.example" and nina["role"] == "technician"
    assert nina["active"] and nina["password"] is None  # chosen, so not echoed
    generated = ada.post(
        "/api/users", json={"email": "carl@acme.example", "role": "client", "client_id": world.acme}
    )
    assert generated.status_code == 201, generated.text
    carl = generated.json()
    assert carl["client"] == "Acme Corp" and len(carl["password"]) >= MIN_PASSWORD
    assert can_log_in(live, "carl@acme.example", carl["password"])

    listing = ada.get("/api/users", params={"per_page": 2}).json()
    assert listing["meta"] == {"page": 1, "per_page": 2, "total": 6, "pages": 3}
    everyone = ada.get("/api/users", params={"per_page": 50}).json()["items"]
    assert [u["email"] for u in everyone] == sorted(u["email"] for u in everyone)
    assert all("password" not in u for u in everyone)
    assert ada.get(f"/api/users/{nina['id']}").json()["email"] == "nina@agency.example"

    # Role and client: a client user keeps its client until made staff.
    rebound = ada.patch(
        f"/api/users/{carl['id']}", json={"role": "client", "client_id": world.globex}
    )
    assert rebound.json()["client"] == "Globex Inc"
    promoted = ada.patch(f"/api/users/{carl['id']}", json={"role": "technician"}).json()
    assert promoted["role"] == "technician" and promoted["client_id"] is None
    assert promoted["password"] is None

    # Disabling ends its sessions and stops its tokens; enabling brings the tokens back.
    session = login(live.base, "nina@agency.example", "nina's own pass")
    token = ada.post(f"/api/users/{nina['id']}/tokens", json={"name": "nina's script"}).json()
    assert token["token"].startswith("skt_") and token["prefix"] == token["token"][:10]
    assert bearer(live, token["token"]).get("/api/me").json()["email"] == "nina@agency.example"
    assert ada.patch(f"/api/users/{nina['id']}", json={"active": False}).json()["active"] is False
    assert session.get("/").status_code == 303
    assert bearer(live, token["token"]).get("/api/me").status_code == 401
    assert not can_log_in(live, "nina@agency.example", "nina's own pass")
    ada.patch(f"/api/users/{nina['id']}", json={"active": True})
    assert bearer(live, token["token"]).get("/api/me").status_code == 200

    assert ada.delete(f"/api/users/{nina['id']}").status_code == 204
    gone = ada.get(f"/api/users/{nina['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"error": {"code": "not_found", "message": f"no user {nina['id']}"}}
    assert bearer(live, token["token"]).get("/api/me").status_code == 401


def test_an_admin_resets_a_password_and_the_users_tokens_with_it(live: Live, world: World) -> None:
    ada = bearer(live, world.admin_token)
    tom_session = login(live.base, "tom@agency.example")
    tom_token = ada.post(f"/api/users/{world.tech}/tokens", json={"name": "tom's cron"}).json()
    typed = ada.patch(f"/api/users/{world.tech}", json={"password": "a brand new secret"})
    assert typed.status_code == 200 and typed.json()["password"] is None
    assert tom_session.get("/").status_code == 303  # logged out
    assert not can_log_in(live, "tom@agency.example", PASSWORD)
    assert can_log_in(live, "tom@agency.example", "a brand new secret")
    reset = ada.patch(f"/api/users/{world.tech}", json={"reset_password": True}).json()
    assert reset["password"] and can_log_in(live, "tom@agency.example", reset["password"])
    # Whoever knew the old password may hold Tom's token: the first change revoked it.
    assert typed.json()["tokens_revoked"] == 1
    assert bearer(live, tom_token["token"]).get("/api/me").status_code == 401


def test_the_stores_rules_come_back_as_errors(live: Live, world: World, db: Database) -> None:
    ada = bearer(live, world.admin_token)

    def error(answer: httpx.Response) -> tuple[int, str, str]:
        body = answer.json()["error"]
        return answer.status_code, body["code"], body["message"]

    code, kind, message = error(
        ada.post("/api/users", json={"email": "x@y.example", "role": "client"})
    )
    assert (code, kind) == (422, "invalid") and "needs --client" in message
    assert error(ada.post("/api/users", json={"email": "ADA@agency.example"}))[2].endswith(
        "already exists"
    )
    assert error(ada.post("/api/users", json={"email": "not an address"}))[1] == "invalid"
    short = ada.post("/api/users", json={"email": "s@agency.example", "password": "short"})
    assert error(short)[:2] == (422, "invalid_request")
    assert error(ada.patch(f"/api/users/{world.tech}", json={"client_id": world.acme}))[2] == (
        "admins and technicians take no client"
    )
    both = ada.patch(
        f"/api/users/{world.tech}", json={"password": "x" * 12, "reset_password": True}
    )
    assert error(both)[:2] == (422, "invalid")
    assert "yourself" in error(ada.delete(f"/api/users/{world.admin}"))[2]
    assert "yourself" in error(ada.patch(f"/api/users/{world.admin}", json={"active": False}))[2]
    assert "yourself" in error(ada.patch(f"/api/users/{world.admin}", json={"role": "client"}))[2]
    assert error(ada.patch("/api/users/999999", json={}))[:2] == (404, "not_found")
    assert error(ada.post("/api/users/999999/tokens", json={"name": "x"}))[:2] == (404, "not_found")
    # And below the API, for the CLI too: the last active admin stays.
    with db.session() as session:
        with pytest.raises(UsageError, match="last active admin"):
            users.remove_user(session, users.get_user(session, "ada@agency.example"))
        with pytest.raises(UsageError, match="last active admin"):
            users.update_user(session, users.get_user(session, world.admin), role="technician")


def test_only_admins_reach_the_users_api(live: Live, world: World) -> None:
    # As on every admin-only route: a client user is told nothing exists (404), a
    # technician that it is not allowed (403); both in the API's error shape.
    alice = login(live.base, "alice@acme.example")
    tom = login(live.base, "tom@agency.example")
    for client, status, code in ((alice, 404, "not_found"), (tom, 403, "forbidden")):
        headers = {"X-CSRF-Token": csrf_of(client)}
        answers = [
            client.get("/api/users"),
            client.get(f"/api/users/{world.admin}"),
            client.post("/api/users", json={"email": "evil@x.example"}, headers=headers),
            client.patch(f"/api/users/{world.admin}", json={"active": False}, headers=headers),
            client.delete(f"/api/users/{world.admin}", headers=headers),
            client.post(f"/api/users/{world.admin}/tokens", json={"name": "x"}, headers=headers),
        ]
        for answer in answers:
            assert answer.status_code == status, (answer.request.url, answer.text)
            assert answer.json()["error"]["code"] == code
    assert bearer(live, world.admin_token).get("/api/users").json()["meta"]["total"] == 4
