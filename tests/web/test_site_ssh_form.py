"""SSH access on the site edit page: an admin sets target, key, docroot and sudo user,
validated as the CLI and the API validate them and journaled; a technician neither sees
the form nor can submit it; the page with the form passes axe in Chromium."""

from __future__ import annotations

import re
from contextlib import closing

import httpx
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, Site
from tests.web.conftest import Live, World, csrf_of, log_in, login, shot
from tests.web.test_accessibility import assert_clean, audit

ADMIN, TECH = "ada@agency.example", "tom@agency.example"


def ssh_of(db: Database, site_id: int) -> dict[str, object] | None:
    with db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        return site.ssh


def changes(db: Database, site_id: int) -> list[Event]:
    with db.session() as s:
        query = (
            select(Event)
            .where(Event.site_id == site_id, Event.kind == "ssh.access_changed")
            .order_by(Event.id)
        )
        return list(s.scalars(query))


def post(client: httpx.Client, site_id: int, **form: str) -> httpx.Response:
    return client.post(f"/sites/{site_id}/ssh", data={"csrf_token": csrf_of(client), **form})


def test_an_admin_sets_ssh_access_on_the_edit_page_validated_and_journaled(
    live: Live, world: World, db: Database
) -> None:
    site_id = world.acme_sites[0]
    with closing(login(live.base, ADMIN)) as client:
        page = client.get(f"/sites/{site_id}/edit")
        assert f'action="/sites/{site_id}/ssh"' in page.text and "SSH target" in page.text
        done = post(client, site_id, target="deploy@shop.example:2222", key_id="",
                    docroot="/srv/shop", sudo_user="shop")  # fmt: skip
        assert done.status_code == 303, done.text
        assert ssh_of(db, site_id) == {
            "host": "shop.example", "port": 2222, "user": "deploy", "key_id": None,
            "docroot": "/srv/shop", "sudo_user": "shop",
        }  # fmt: skip
        shown = client.get(f"/sites/{site_id}/edit").text
        assert 'value="deploy@shop.example:2222"' in shown and 'value="shop"' in shown
        # the same refusals as the CLI and the API, shown on the page; nothing stored
        for form, problem in (
            ({"target": "deploy@-oProxyCommand=touch /tmp/pwned"}, "invalid SSH host"),
            ({"sudo_user": "-u root"}, "invalid SSH user"),
            ({"docroot": "--help"}, "invalid document root"),
            ({"key_id": "/root/.ssh/id_rsa"}, "not an SSH key id"),
            ({"key_id": "999999"}, "key"),
        ):
            refused = post(client, site_id, **{"sudo_user": "shop", **form})
            assert refused.status_code == 400, (form, refused.text)
            assert problem in refused.text, refused.text
            assert 'role="alert"' in refused.text or "error" in refused.text
        # empty "work as": the SSH user again; the rest is kept
        assert post(client, site_id, sudo_user="").status_code == 303
        ssh = ssh_of(db, site_id)
        assert ssh is not None and "sudo_user" not in ssh and ssh["docroot"] == "/srv/shop"
        assert post(client, site_id, clear="on").status_code == 303
    assert ssh_of(db, site_id) is None
    events = changes(db, site_id)
    assert len(events) == 3  # set, sudo dropped, cleared; refusals changed nothing
    assert events[0].data["after"]["sudo_user"] == "shop" and events[-1].data["after"] is None


def test_a_technician_does_not_see_ssh_access_and_cannot_submit_it(
    live: Live, world: World, db: Database
) -> None:
    site_id = world.acme_sites[0]
    before = ssh_of(db, site_id)
    with closing(login(live.base, TECH)) as client:
        page = client.get(f"/sites/{site_id}/edit")
        assert page.status_code == 200
        assert "/ssh" not in page.text and "SSH target" not in page.text
        refused = post(client, site_id, target="deploy@evil.example", docroot="/srv/x")
        assert refused.status_code == 403, refused.text
    assert ssh_of(db, site_id) == before
    assert changes(db, site_id) == []


def test_the_ssh_form_works_in_chromium_and_passes_axe(
    browser: Browser, server: Live, site_world: World, sqlite_db: Database
) -> None:
    site_id = site_world.acme_sites[0]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    try:
        page = context.new_page()
        log_in(page, server.base, ADMIN)
        page.goto(f"{server.base}/sites/{site_id}/edit")
        expect(page.get_by_role("heading", name="SSH access")).to_be_visible()
        found = audit(page, "edit a site, SSH access")
        page.get_by_label("SSH target").fill("deploy@-oProxyCommand=id")
        page.get_by_label("Docroot").fill("/srv/shop")
        page.get_by_role("button", name="Save SSH access").click()
        expect(page.get_by_text(re.compile("invalid SSH host"))).to_be_visible()
        found += audit(page, "edit a site, SSH access refused")
        page.get_by_label("SSH target").fill("deploy@shop.example")
        page.get_by_label(re.compile("^Work as")).fill("shop")
        page.get_by_role("button", name="Save SSH access").click()
        expect(page).to_have_url(re.compile(rf"/sites/{site_id}$"))
        page.goto(f"{server.base}/sites/{site_id}/edit")
        expect(page.get_by_label("SSH target")).to_have_value("deploy@shop.example:22")
        shot(page, "site-ssh-form")
        assert_clean(found)
    finally:
        context.close()
    ssh = ssh_of(sqlite_db, site_id)
    assert ssh is not None and ssh["sudo_user"] == "shop" and ssh["docroot"] == "/srv/shop"
