"""API tokens: they expire, record their last use (at most once a minute), die with a password
change or reset unless kept, and admins list and revoke anyone's (API, pages, CLI)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import update
from typer.testing import CliRunner

from sitekeeper.cli.users import app as user_cli
from sitekeeper.store.database import Database
from sitekeeper.store.web_tables import ApiToken
from tests.web.conftest import PASSWORD, Live, World, csrf_of, login


def bearer(live: Live, token: str) -> httpx.Client:
    return httpx.Client(base_url=live.base, headers={"Authorization": f"Bearer {token}"})


def _token(live: Live, world: World, user_id: int, **body: object) -> dict[str, object]:
    made = bearer(live, world.admin_token).post(
        f"/api/users/{user_id}/tokens", json={"name": "script", **body}
    )
    assert made.status_code == 201, made.text
    data: dict[str, object] = made.json()
    return data


def _set(db: Database, token_id: object, **values: object) -> None:
    with db.session() as s:
        s.execute(update(ApiToken).where(ApiToken.id == token_id).values(**values))


def test_a_token_expires(live: Live, world: World, db: Database) -> None:
    made = _token(live, world, world.tech, expires_in_days=90)
    expires = datetime.fromisoformat(str(made["expires_at"]))
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    script = bearer(live, str(made["token"]))
    assert script.get("/api/me").status_code == 200
    _set(db, made["id"], expires_at=datetime.now(UTC) - timedelta(seconds=1))  # 90 days later
    gone = script.get("/api/me")
    assert gone.status_code == 401 and "expired" in gone.json()["error"]["message"]
    forever = _token(live, world, world.tech)
    assert forever["expires_at"] is None
    too_long = bearer(live, world.admin_token).post(
        "/api/me/tokens", json={"name": "x", "expires_in_days": 5000}
    )
    assert too_long.status_code == 422


def test_last_use_is_written_at_most_once_a_minute(live: Live, world: World, db: Database) -> None:
    made = _token(live, world, world.tech)
    script = bearer(live, str(made["token"]))

    def last_used() -> datetime | None:
        with db.session() as s:
            row = s.get(ApiToken, made["id"])
            assert row is not None
            return row.last_used_at

    assert last_used() is None
    script.get("/api/me")
    first = last_used()
    assert first is not None
    script.get("/api/me")
    assert last_used() == first  # the same minute: no write
    _set(db, made["id"], last_used_at=first - timedelta(minutes=2))
    script.get("/api/me")
    later = last_used()
    assert later is not None and later >= first
    listed = bearer(live, world.admin_token).get(f"/api/users/{world.tech}/tokens").json()
    assert [t["last_used_at"] for t in listed if t["id"] == made["id"]] != [None]


def test_an_admin_reset_revokes_the_users_tokens_unless_kept(live: Live, world: World) -> None:
    admin = bearer(live, world.admin_token)
    first = _token(live, world, world.tech)
    reset = admin.patch(f"/api/users/{world.tech}", json={"reset_password": True})
    assert reset.status_code == 200 and reset.json()["tokens_revoked"] == 1
    assert bearer(live, str(first["token"])).get("/api/me").status_code == 401
    kept = _token(live, world, world.tech)
    again = admin.patch(
        f"/api/users/{world.tech}", json={"password": "a kept token!", "keep_tokens": True}
    )
    assert again.status_code == 200 and again.json()["tokens_revoked"] == 0
    assert bearer(live, str(kept["token"])).get("/api/me").status_code == 200


def test_ones_own_change_revokes_the_other_tokens_not_the_one_making_it(
    live: Live, world: World
) -> None:
    mine = bearer(live, world.admin_token)
    other = _token(live, world, world.admin)
    change = {"current_password": PASSWORD, "new_password": "a brand new secret"}
    assert mine.post("/api/me/password", json=change).status_code == 204
    assert mine.get("/api/me").status_code == 200
    assert bearer(live, str(other["token"])).get("/api/me").status_code == 401
    spare = _token(live, world, world.admin)
    keep = {"current_password": "a brand new secret", "new_password": "yet another one!"}
    assert mine.post("/api/me/password", json={**keep, "keep_tokens": True}).status_code == 204
    assert bearer(live, str(spare["token"])).get("/api/me").status_code == 200


def test_admins_list_and_revoke_anyones_tokens(live: Live, world: World) -> None:
    admin = bearer(live, world.admin_token)
    made = _token(live, world, world.tech)
    listed = admin.get(f"/api/users/{world.tech}/tokens")
    assert listed.status_code == 200
    assert [(t["id"], t["prefix"]) for t in listed.json()] == [
        (made["id"], str(made["token"])[:10])
    ]
    assert str(made["token"]) not in listed.text
    tom = login(live.base, "tom@agency.example")
    assert tom.get(f"/api/users/{world.admin}/tokens").status_code == 403
    alice = login(live.base, "alice@acme.example")
    assert alice.get(f"/api/users/{world.tech}/tokens").status_code == 404
    assert admin.delete(f"/api/users/{world.admin}/tokens/{made['id']}").status_code == 404
    assert admin.delete(f"/api/users/{world.tech}/tokens/{made['id']}").status_code == 204
    assert bearer(live, str(made["token"])).get("/api/me").status_code == 401
    # The same on the pages: the users page links to each user's tokens.
    second = _token(live, world, world.tech)
    ada = login(live.base, "ada@agency.example")
    assert f'href="/users/{world.tech}/tokens"' in ada.get("/users").text
    page = ada.get(f"/users/{world.tech}/tokens")
    assert page.status_code == 200 and str(second["prefix"]) in page.text
    revoked = ada.post(
        f"/users/{world.tech}/tokens/{second['id']}/delete", data={"csrf_token": csrf_of(ada)}
    )
    assert revoked.status_code == 303
    assert bearer(live, str(second["token"])).get("/api/me").status_code == 401
    assert tom.get(f"/users/{world.admin}/tokens").status_code == 403


def test_the_account_page_makes_expiring_tokens_and_keeps_them_on_request(
    live: Live, world: World
) -> None:
    tom = login(live.base, "tom@agency.example")
    page = tom.post(
        "/account/tokens",
        data={"name": "cron", "expires_in_days": "30", "csrf_token": csrf_of(tom)},
    )
    raw = re.search(r'<code class="token">([^<]+)</code>', page.text)
    assert page.status_code == 200 and raw
    listed = bearer(live, raw.group(1)).get("/api/me/tokens").json()
    assert listed[0]["expires_at"] is not None
    form = {
        "current_password": PASSWORD,
        "new_password": "tom's new secret",
        "repeat_password": "tom's new secret",
        "keep_tokens": "on",
        "csrf_token": csrf_of(tom),
    }
    done = tom.post("/account/password", data=form)
    assert done.status_code == 200 and "Password changed" in done.text
    assert bearer(live, raw.group(1)).get("/api/me").status_code == 200


def test_the_cli_lists_revokes_and_makes_expiring_tokens(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    secret = tmp_path / "pw"
    secret.write_text("a long enough secret\n", encoding="utf-8")
    email = "ops@agency.example"
    assert runner.invoke(user_cli, ["add", email, "--password-file", str(secret)]).exit_code == 0
    made = runner.invoke(user_cli, ["token", email, "--name", "deploy", "--expires", "90d"])
    assert made.exit_code == 0 and made.stdout.startswith("skt_")
    bad = runner.invoke(user_cli, ["token", email, "--expires", "soon"])
    assert bad.exit_code != 0
    listed = runner.invoke(user_cli, ["tokens", email, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["deploy"] and rows[0]["expires_at"]
    assert made.stdout.strip() not in listed.stdout
    kept = runner.invoke(
        user_cli, ["password", email, "--password-file", str(secret), "--keep-tokens"]
    )
    assert kept.exit_code == 0 and "0 API token(s) revoked" in kept.output
    revoked = runner.invoke(user_cli, ["revoke-token", str(rows[0]["id"])])
    assert revoked.exit_code == 0 and email in revoked.output
    assert runner.invoke(user_cli, ["tokens", email, "--json"]).stdout.strip() == "[]"
    runner.invoke(user_cli, ["token", email])
    reset = runner.invoke(user_cli, ["password", email, "--password-file", str(secret)])
    assert "1 API token(s) revoked" in reset.output
