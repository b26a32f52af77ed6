"""Signs of a hack on the dashboard and the API: the site is "compromised" (sorted first,
filterable), its findings are listed worst first with their fix, and staff acknowledge a
false positive with a reason — journaled with who and why, undone the same way — while a
client user sees all of it but can change none (issue 12 §6)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from sitekeeper.store import findings
from sitekeeper.store.database import Database
from tests.store.factories import hack_spec
from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import api

SHELL = "wp-content/uploads/2026/11/<b>cache</b>.php"  # a hostile file name, shown escaped


def _hacked(db: Database, site_id: int) -> None:
    """A web shell (a sign of a hack) and a medium content finding (not one)."""
    specs = [
        hack_spec(site_id, "malware", SHELL, "critical", title="Web shell (eval of POST data)"),
        hack_spec(site_id, "seo", "new-domain:cdn.example", "medium", title="New outbound domain"),
    ]
    with db.session() as session:
        moment = datetime.now(UTC)
        findings.reconcile(session, specs, moment, site_ids=[site_id], kinds=["malware", "seo"])


def _journal(client: httpx.Client, site_id: int, kind: str) -> list[dict[str, object]]:
    answer = client.get("/api/journal", params={"site_id": site_id, "kind": kind})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, object]] = answer.json()
    return events


def test_the_api_lists_acknowledges_and_undoes(live: Live, world: World, db: Database) -> None:
    shop = world.acme_sites[0]
    _hacked(db, shop)
    ada = api(live, world)
    first = ada.get("/api/sites", params={"per_page": 1}).json()["items"][0]
    assert (first["id"], first["state"], first["compromised"]) == (shop, "compromised", 1)
    only = ada.get("/api/sites", params={"state": "compromised"}).json()
    assert [s["id"] for s in only["items"]] == [shop]

    page = ada.get(f"/api/sites/{shop}/findings", params={"kind": ["malware", "seo"]}).json()
    assert page["meta"]["total"] == 2
    shell, domain = page["items"]  # worst first
    assert (shell["kind"], shell["severity"], shell["hack_sign"]) == ("malware", "critical", True)
    assert (shell["title"], shell["evidence"], shell["acknowledgeable"]) == (
        "Web shell (eval of POST data)",
        SHELL,
        True,
    )
    assert shell["note"] and not domain["hack_sign"]
    second = ada.get(f"/api/sites/{shop}/findings", params={"kind": "seo", "per_page": 1}).json()
    assert [f["id"] for f in second["items"]] == [domain["id"]]
    assert second["meta"] == {"page": 1, "per_page": 1, "total": 1, "pages": 1}
    everything = ada.get(f"/api/sites/{shop}/findings", params={"per_page": 500}).json()
    assert {f["kind"] for f in everything["items"]} >= {"malware", "seo", "update"}

    refused = ada.post(f"/api/findings/{shell['id']}/acknowledge", json={"reason": "  "})
    assert refused.status_code == 400 and "reason" in refused.json()["error"]["message"]
    assert ada.post(f"/api/findings/{shell['id']}/acknowledge", json={}).status_code == 422

    made = ada.post(
        f"/api/findings/{shell['id']}/acknowledge", json={"reason": "our malware test sample"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["by"] == "ada@agency.example"
    assert made.json()["finding_id"] == shell["id"] and not made.json()["open_again"]
    site = ada.get(f"/api/sites/{shop}").json()
    assert site["compromised"] == 0
    left = ada.get(f"/api/sites/{shop}/findings", params={"kind": "malware"}).json()
    assert left["items"] == []
    [event] = _journal(ada, shop, "finding.acknowledged")
    assert event["title"] == "Malware acknowledged as not a problem"
    assert event["summary"] == (
        "Web shell (eval of POST data) · by ada@agency.example · our malware test sample"
    )
    [listed] = ada.get(f"/api/sites/{shop}/acknowledgements").json()
    assert (listed["reason"], listed["by"]) == ("our malware test sample", "ada@agency.example")

    assert ada.delete(f"/api/findings/{shell['id']}/acknowledge").status_code == 204
    assert ada.get(f"/api/sites/{shop}").json()["state"] == "compromised"
    [undone] = _journal(ada, shop, "finding.unacknowledged")
    assert undone["title"] == "Malware: acknowledgement undone"
    assert "by ada@agency.example" in str(undone["summary"])
    assert ada.delete(f"/api/findings/{shell['id']}/acknowledge").status_code == 404
    assert ada.get(f"/api/sites/{shop}/acknowledgements").json() == []


def test_a_client_user_sees_but_cannot_acknowledge(live: Live, world: World, db: Database) -> None:
    shop = world.acme_sites[0]
    _hacked(db, shop)
    alice = login(live.base, "alice@acme.example")
    found = alice.get(f"/api/sites/{shop}/findings", params={"kind": "malware"}).json()
    [shell] = found["items"]
    csrf = csrf_of(alice)
    headers = {"X-CSRF-Token": csrf}
    api_try = alice.post(
        f"/api/findings/{shell['id']}/acknowledge", json={"reason": "x"}, headers=headers
    )
    assert api_try.status_code == 404
    page_try = alice.post(
        f"/sites/{shop}/findings/{shell['id']}/acknowledge",
        data={"reason": "x", "csrf_token": csrf},
    )
    assert page_try.status_code == 404
    assert alice.get(f"/api/sites/{shop}").json()["compromised"] == 1
    page = alice.get(f"/sites/{shop}").text
    section = page[page.index('id="security"') :]
    section = section[: section.index("</section>")]
    assert "Web shell (eval of POST data)" in section
    assert "Acknowledge" not in section and "csrf_token" not in section


def test_the_site_page_acknowledges_and_undoes(live: Live, world: World, db: Database) -> None:
    shop = world.acme_sites[0]
    _hacked(db, shop)
    tom = login(live.base, "tom@agency.example")
    page = tom.get(f"/sites/{shop}").text
    section = page[page.index('id="security"') :]
    section = section[: section.index("</section>")]
    assert "wp-content/uploads/2026/11/&lt;b&gt;cache&lt;/b&gt;.php" in section
    assert "<b>cache</b>" not in page
    assert section.index("sev-critical") < section.index("sev-medium")
    assert "1 sign of a hack" in section
    assert "disabled>Scan now" in section  # the scan needs SSH access; the site has none
    assert ">Check content now" in section
    shell = tom.get(f"/api/sites/{shop}/findings", params={"kind": "malware"}).json()["items"][0]
    csrf = csrf_of(tom)
    done = tom.post(
        f"/sites/{shop}/findings/{shell['id']}/acknowledge",
        data={"reason": "quarantined copy kept for the report", "csrf_token": csrf},
    )
    assert done.status_code == 303 and done.headers["location"] == f"/sites/{shop}#security"
    after = tom.get(f"/sites/{shop}").text
    acked = after[after.index('id="acknowledged-h"') :]
    acked = acked[: acked.index("</section>")]
    assert "tom@agency.example" in acked and "quarantined copy kept for the report" in acked
    assert f"/sites/{shop}/findings/{shell['id']}/undo" in acked
    assert "Malware acknowledged as not a problem" in after  # the journal on the same page
    undone = tom.post(f"/sites/{shop}/findings/{shell['id']}/undo", data={"csrf_token": csrf})
    assert undone.status_code == 303
    again = tom.get(f"/sites/{shop}").text
    assert 'id="acknowledged-h"' not in again and "1 sign of a hack" in again
