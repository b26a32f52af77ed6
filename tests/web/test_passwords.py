"""One's own tokens and password (API and account page), admin resets (users page), and the
API docs served without a CDN, all through the served app."""

from __future__ import annotations

import re

import httpx

from sitekeeper.web.app import _CSP
from tests.web.conftest import PASSWORD, Live, World, csrf_of, login

_GENERATED = re.compile(r'<code class="token">([^<]+)</code>')


def bearer(live: Live, token: str) -> httpx.Client:
    return httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {token}"})


def logged_in(client: httpx.Client) -> bool:
    return client.get("/account").status_code == 200


def test_a_token_is_created_used_and_revoked(live: Live, world: World) -> None:
    alice = login(live.base, "alice@acme.example")
    assert alice.post("/api/me/tokens", json={"name": "ci"}).status_code == 403  # no CSRF
    csrf = {"X-CSRF-Token": csrf_of(alice)}
    made = alice.post("/api/me/tokens", json={"name": "ci"}, headers=csrf)
    assert made.status_code == 201, made.text
    token = made.json()
    assert token["token"].startswith("skt_") and token["name"] == "ci"
    script = bearer(live, token["token"])
    assert script.get("/api/me").json()["email"] == "alice@acme.example"
    listed = script.get("/api/me/tokens").json()
    assert [t["id"] for t in listed] == [token["id"]]
    assert "token" not in listed[0] and listed[0]["prefix"] == token["token"][:10]
    # Someone else's token "does not exist", and stays valid.
    assert script.delete(f"/api/me/tokens/{world.admin_token_id}").status_code == 404
    assert bearer(live, world.admin_token).get("/api/me").status_code == 200
    assert alice.delete(f"/api/me/tokens/{token['id']}", headers=csrf).status_code == 204
    assert script.get("/api/me").status_code == 401
    assert alice.get("/api/me/tokens").json() == []


def test_a_password_change_needs_the_current_one_and_ends_other_sessions(
    live: Live, world: World
) -> None:
    here, elsewhere = login(live.base, "ada@agency.example"), login(live.base, "ada@agency.example")
    csrf = {"X-CSRF-Token": csrf_of(here)}
    wrong = here.post(
        "/api/me/password",
        json={"current_password": "not it at all", "new_password": "the next secret"},
        headers=csrf,
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    assert logged_in(elsewhere)
    short = here.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=csrf,
    )
    assert short.status_code == 422
    changed = here.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "the next secret"},
        headers=csrf,
    )
    assert changed.status_code == 204, changed.text
    assert logged_in(here) and not logged_in(elsewhere)
    # Whoever knew the old password may hold a token: revoked with it (OWASP).
    assert bearer(live, world.admin_token).get("/api/me").status_code == 401
    login(live.base, "ada@agency.example", "the next secret")


def test_guessing_the_current_password_is_throttled(live: Live, world: World) -> None:
    script = bearer(live, world.admin_token)
    guess = {"current_password": "guess", "new_password": "whatever it is"}
    for _ in range(5):
        assert script.post("/api/me/password", json=guess).status_code == 403
    locked = script.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "whatever it is"}
    )
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_requests"
    assert int(locked.headers["retry-after"]) > 0
    # Its own key: the account's logins are not locked by it.
    login(live.base, "ada@agency.example")


def test_the_account_page_changes_the_password(live: Live) -> None:
    tom, other = login(live.base, "tom@agency.example"), login(live.base, "tom@agency.example")
    page = tom.get("/account").text
    assert 'action="/account/password"' in page and 'minlength="10"' in page

    def change(current: str, new: str, repeat: str) -> httpx.Response:
        form = {
            "current_password": current,
            "new_password": new,
            "repeat_password": repeat,
            "csrf_token": csrf_of(tom),
        }
        return tom.post("/account/password", data=form)

    assert tom.post("/account/password", data={"current_password": PASSWORD}).status_code == 403
    mismatch = change(PASSWORD, "one new secret", "another secret")
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    short = change(PASSWORD, "short", "short")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    wrong = change("not the password", "one new secret", "one new secret")
    assert wrong.status_code == 403 and "current password is wrong" in wrong.text
    assert logged_in(other)
    done = change(PASSWORD, "one new secret", "one new secret")
    assert done.status_code == 200 and "Password changed" in done.text
    assert logged_in(tom) and not logged_in(other)
    login(live.base, "tom@agency.example", "one new secret")


def test_an_admin_resets_a_password_on_the_users_page(live: Live, world: World) -> None:
    ada = login(live.base, "ada@agency.example")
    tom = login(live.base, "tom@agency.example")
    token = bearer(live, world.admin_token).post(
        f"/api/users/{world.tech}/tokens", json={"name": "tom's cron"}
    )
    users_page = ada.get("/users").text
    assert f'action="/users/{world.tech}/password"' in users_page
    typed = ada.post(
        f"/users/{world.tech}/password",
        data={"password": "typed by ada!", "csrf_token": csrf_of(ada)},
    )
    assert typed.status_code == 200 and "tom@agency.example reset" in typed.text
    assert _GENERATED.search(typed.text) is None  # nothing to show: Ada knows it
    assert not logged_in(tom)
    login(live.base, "tom@agency.example", "typed by ada!")
    short = ada.post(
        f"/users/{world.tech}/password", data={"password": "short", "csrf_token": csrf_of(ada)}
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    generated = ada.post(f"/users/{world.tech}/password", data={"csrf_token": csrf_of(ada)})
    found = _GENERATED.search(generated.text)
    assert generated.status_code == 200 and found
    login(live.base, "tom@agency.example", found.group(1))
    assert found.group(1) not in ada.get("/users").text  # shown once
    assert bearer(live, token.json()["token"]).get("/api/me").status_code == 401  # revoked
    # Resetting one's own password keeps the browser that did it logged in.
    ada.post(f"/users/{world.admin}/password", data={"csrf_token": csrf_of(ada)})
    assert logged_in(ada)
    tom_now = login(live.base, "tom@agency.example", found.group(1))
    refused = tom_now.post(f"/users/{world.admin}/password", data={"csrf_token": csrf_of(tom_now)})
    assert refused.status_code == 403
    alice = login(live.base, "alice@acme.example")
    hidden = alice.post(f"/users/{world.tech}/password", data={"csrf_token": csrf_of(alice)})
    assert hidden.status_code == 404


def test_the_api_docs_need_no_other_site(live: Live) -> None:
    ada = login(live.base, "ada@agency.example")
    docs = ada.get("/api/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == _CSP
    assert "script-src 'self'" in _CSP and "http" not in _CSP
    assert not re.search(r"https?://", docs.text), "an absolute URL in the docs page"
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert {
        "/static/swagger/swagger-ui-bundle.js",
        "/static/swagger/swagger-ui.css",
        "/static/api-docs.js",
    } <= set(assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        answer = ada.get(asset)
        assert answer.status_code == 200, asset
        assert answer.headers["content-type"].split(";")[0] in (
            "text/javascript",
            "application/javascript",
            "text/css",
            "image/svg+xml",
        )
    # The licence travels with the vendored files.
    assert "Apache License" in ada.get("/static/swagger/LICENSE").text
    schema = ada.get("/api/openapi.json").json()
    assert {"/api/users", "/api/users/{user_id}", "/api/me/tokens", "/api/me/password"} <= set(
        schema["paths"]
    )
