"""CSRF on every state change made with the session cookie, and the persistent login throttle."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client
from tests.web.conftest import PASSWORD, Live, World, csrf_of, login


def _clients(db: Database) -> set[str]:
    with db.session() as session:
        return {c.name for c in session.query(Client)}


def test_a_form_post_without_the_token_is_rejected(live: Live, db: Database) -> None:
    ada = login(live.base, "ada@agency.example")
    missing = ada.post("/clients", data={"name": "Forged Ltd"})
    wrong = ada.post("/clients", data={"name": "Forged Ltd", "csrf_token": "guess"})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "Forged Ltd" not in _clients(db)
    ok = ada.post("/clients", data={"name": "Real Ltd", "csrf_token": csrf_of(ada)})
    assert ok.status_code == 303
    assert "Real Ltd" in _clients(db)


def test_the_api_needs_the_token_with_a_cookie_but_not_with_a_bearer(
    live: Live, world: World, db: Database
) -> None:
    ada = login(live.base, "ada@agency.example")
    assert ada.post("/api/clients", json={"name": "Cookie Co"}).status_code == 403
    headers = {"X-CSRF-Token": csrf_of(ada)}
    assert ada.post("/api/clients", json={"name": "Cookie Co"}, headers=headers).status_code == 201
    bearer = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}
    )
    assert bearer.post("/api/clients", json={"name": "Script Co"}).status_code == 201
    assert {"Cookie Co", "Script Co"} <= _clients(db)


def test_logout_needs_the_token_too(live: Live) -> None:
    ada = login(live.base, "ada@agency.example")
    assert ada.post("/logout").status_code == 403
    assert ada.get("/").status_code == 200
    assert ada.post("/logout", data={"csrf_token": csrf_of(ada)}).status_code == 303
    assert ada.get("/").status_code == 303


def _attempt(base: str, email: str, password: str, ip: str = "127.0.0.1") -> httpx.Response:
    client = httpx.Client(base_url=base, headers={"X-Forwarded-For": ip})
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )


def test_failures_earn_a_wait_that_survives_a_restart(
    live: Live, db: Database, tmp_path: Path
) -> None:
    for _ in range(5):
        assert _attempt(live.base, "tom@agency.example", "wrong password!").status_code == 401
    held = _attempt(live.base, "tom@agency.example", PASSWORD)
    assert held.status_code == 429
    assert "Too many failed attempts. Try again in 15 seconds." in held.text
    assert 0 < int(held.headers["retry-after"]) <= 15
    live.stop()
    again = Live(db, tmp_path / "home2")
    try:
        assert _attempt(again.base, "tom@agency.example", PASSWORD).status_code == 429
        # Other accounts are not held up by Tom's attacker.
        assert _attempt(again.base, "ada@agency.example", PASSWORD).status_code == 303
    finally:
        again.stop()


def test_a_forwarded_for_header_is_ignored_without_trusted_proxies(live: Live) -> None:
    """The per-address limit cannot be dodged by inventing an X-Forwarded-For per attempt."""
    for n in range(20):
        answer = _attempt(live.base, f"user{n}@nowhere.example", "wrong password!", f"10.9.8.{n}")
        assert answer.status_code == 401
    assert _attempt(live.base, "ada@agency.example", PASSWORD, "10.1.1.1").status_code == 429


@pytest.fixture
def proxied(db: Database, world: World, tmp_path: Path) -> Iterator[Live]:
    """The dashboard behind a reverse proxy on loopback and another in 10.0.0.0/8."""
    server = Live(db, tmp_path / "home", trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"])
    yield server
    server.stop()


def test_behind_trusted_proxies_the_right_most_untrusted_address_counts(proxied: Live) -> None:
    for n in range(20):
        answer = _attempt(
            proxied.base, f"user{n}@nowhere.example", "wrong password!", "198.51.100.7, 10.0.0.5"
        )
        assert answer.status_code == 401
    # The same client, however much it prepends (the left of the header is its own words).
    for forwarded in ("198.51.100.7", "203.0.113.1, 198.51.100.7, 10.0.0.5"):
        held = _attempt(proxied.base, "ada@agency.example", PASSWORD, forwarded)
        assert held.status_code == 429, forwarded
    assert _attempt(proxied.base, "ada@agency.example", PASSWORD, "198.51.100.8").status_code == 303


def test_the_owner_on_a_known_address_is_not_held_by_an_attacker_elsewhere(
    proxied: Live,
) -> None:
    home, attacker, new_place = "198.51.100.20", "203.0.113.66", "192.0.2.44"
    assert _attempt(proxied.base, "tom@agency.example", PASSWORD, home).status_code == 303
    for n in range(10):  # enough for the account-wide wait, from many addresses
        bad = _attempt(proxied.base, "tom@agency.example", "wrong!", f"{attacker[:-2]}{n}")
        assert bad.status_code == 401
    assert _attempt(proxied.base, "tom@agency.example", PASSWORD, new_place).status_code == 429
    assert _attempt(proxied.base, "tom@agency.example", PASSWORD, home).status_code == 303
    # A success resets that address's own count: four typos, a login, four more, no wait.
    for _round in range(2):
        for _ in range(4):
            assert _attempt(proxied.base, "tom@agency.example", "typo!", home).status_code == 401
        assert _attempt(proxied.base, "tom@agency.example", PASSWORD, home).status_code == 303


def test_a_login_form_post_without_its_cookie_is_rejected(live: Live) -> None:
    client = httpx.Client(base_url=live.base)
    answer = client.post(
        "/login", data={"email": "ada@agency.example", "password": PASSWORD, "csrf_token": "x"}
    )
    assert answer.status_code == 403


def test_after_login_only_local_redirects_are_followed(live: Live) -> None:
    client = httpx.Client(base_url=live.base)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    answer = client.post(
        "/login",
        data={
            "email": "ada@agency.example",
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "//evil.example/",
        },
    )
    assert answer.headers["location"] == "/"
