"""SSH access over the API (the site import): validated hosts and users, keys never a path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncssh
import httpx
import pytest
from sqlalchemy import select

from sitekeeper.store import users
from sitekeeper.store.database import Database
from sitekeeper.store.ssh_key_tables import SshKey
from sitekeeper.store.tables import Event, Site
from sitekeeper.store.web_tables import User
from tests.web.conftest import Live, World


def _api(live: Live, world: World) -> httpx.Client:
    return httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}, timeout=30
    )


def _problems(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    problems: list[str] = response.json()["error"]["problems"]
    return problems


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"ssh": "deploy@-oProxyCommand=touch /tmp/pwned"}, "invalid SSH host"),
        ({"ssh": "-oProxyCommand=id@example.com"}, "invalid SSH user"),
        ({"ssh": "deploy@example.com", "key": "/srv/sites/keys/wp1"}, "no SSH key"),
        ({"ssh": "deploy@example.com", "key": "/root/.ssh/id_rsa"}, "no SSH key"),
        ({"ssh": "deploy@example.com", "key": "../secret.key"}, "no SSH key"),
    ],
)
def test_hostile_access_and_key_paths_are_refused(
    live: Live, world: World, db: Database, item: dict[str, Any], problem: str
) -> None:
    body = {"sites": [{"url": "https://new.example", "client": world.acme, **item}]}
    with _api(live, world) as client:
        problems = _problems(client.post("/api/sites/import", json=body))
    assert len(problems) == 1 and problems[0].startswith("item 1: ") and problem in problems[0]
    with db.session() as s:
        assert s.scalar(select(Site).where(Site.url == "https://new.example/")) is None
        assert s.scalars(select(SshKey)).all() == []


def test_a_key_goes_in_as_key_material_and_stays_with_its_client(
    live: Live, world: World, db: Database
) -> None:
    material = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    first = {"url": "https://a.example", "client": world.acme, "ssh": "deploy@a.example"}
    with _api(live, world) as client:
        done = client.post("/api/sites/import", json={"sites": [{**first, "key": material}]})
        assert done.status_code == 200, done.text
        with db.session() as s:
            key = s.scalars(select(SshKey)).one()
            assert key.client_id == world.acme and material not in key.secret
        # Globex cannot name Acme's key, by name, id or fingerprint
        for ref in (key.name, str(key.id), key.fingerprint):
            other = {"url": "https://g.example", "client": world.globex, "ssh": "d@g.example"}
            problems = _problems(
                client.post("/api/sites/import", json={"sites": [{**other, "key": ref}]})
            )
            assert "the client has no SSH key" in problems[0]
        # moving Acme's site to Globex without a key of Globex's is refused too
        moved = {"url": "https://a.example", "client": world.globex}
        problems = _problems(client.post("/api/sites/import", json={"sites": [moved]}))
        assert "belongs to another client" in problems[0]


def _site(db: Database, site_id: int) -> Site:
    with db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        s.expunge(site)
        return site


def test_an_admin_edits_ssh_access_with_patch_validated_as_the_cli_and_journaled(
    live: Live, world: World, db: Database
) -> None:
    site_id = world.acme_sites[0]
    change = {"target": "deploy@shop.example:2222", "docroot": "/srv/shop", "sudo_user": "shop"}
    with _api(live, world) as client:
        done = client.patch(f"/api/sites/{site_id}", json={"ssh": change})
        assert done.status_code == 200, done.text
        assert _site(db, site_id).ssh == {
            "host": "shop.example", "port": 2222, "user": "deploy", "key_id": None,
            "docroot": "/srv/shop", "sudo_user": "shop",
        }  # fmt: skip
        # a part given alone keeps the others; "" stops working through sudo
        done = client.patch(f"/api/sites/{site_id}", json={"ssh": {"sudo_user": ""}})
        assert done.status_code == 200, done.text
        ssh = _site(db, site_id).ssh
        assert ssh is not None and "sudo_user" not in ssh and ssh["docroot"] == "/srv/shop"
        for hostile, problem in (
            ({"target": "deploy@-oProxyCommand=touch /tmp/pwned"}, "invalid SSH host"),
            ({"sudo_user": "-u root"}, "invalid SSH user '-u root'"),
            ({"docroot": "--rsync-path=sh"}, "invalid document root"),
        ):
            refused = client.patch(f"/api/sites/{site_id}", json={"ssh": hostile})
            assert refused.status_code == 422, refused.text
            assert problem in refused.text, refused.text
        assert _site(db, site_id).ssh == ssh
        done = client.patch(f"/api/sites/{site_id}", json={"ssh": {"clear": True}})
        assert done.status_code == 200, done.text
        assert _site(db, site_id).ssh is None
    with db.session() as s:
        events = s.scalars(
            select(Event)
            .where(Event.site_id == site_id, Event.kind == "ssh.access_changed")
            .order_by(Event.id)
        ).all()
        assert len(events) == 3  # set, sudo dropped, cleared; refusals changed nothing
        assert events[0].data["after"]["sudo_user"] == "shop"


def test_staff_who_are_not_admins_cannot_change_ssh_access(
    live: Live, world: World, db: Database
) -> None:
    site_id = world.acme_sites[0]
    before = _site(db, site_id).ssh
    with db.session() as s:
        tech = s.get(User, world.tech)
        assert tech is not None
        token, _ = users.create_token(s, tech, "tests", datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live.base, headers=headers, timeout=30) as client:
        refused = client.patch(
            f"/api/sites/{site_id}", json={"ssh": {"target": "deploy@evil.example"}}
        )
        assert refused.status_code == 403, refused.text
        # the rest of a site stays theirs to edit
        done = client.patch(f"/api/sites/{site_id}", json={"name": "Acme shop (edited)"})
        assert done.status_code == 200, done.text
    assert _site(db, site_id).ssh == before
