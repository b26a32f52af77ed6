"""The settings page's branding form (admins only): what it stores is what the client
reports use; a logo that is not a PNG or JPEG, a bad colour or a missing CSRF token are
refused with nothing kept."""

from __future__ import annotations

import io

from PIL import Image

from sitekeeper.reports import branding
from sitekeeper.store.database import Database
from tests.web.conftest import Live, csrf_of, login


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 24), (0, 90, 160)).save(out, "PNG")
    return out.getvalue()


def test_an_admin_sets_the_reports_branding(live: Live, db: Database) -> None:
    ada = login(live.base, "ada@agency.example")
    form = {
        "csrf_token": csrf_of(ada),
        "agency_name": "Pixel & Partner",
        "primary": "#112233",
        "accent": "#FF8800",
        "contact": "care@pixel.example",
        "footer": "Pixel & Partner GmbH",
        "public_url": "https://care.pixel.example/",
    }
    saved = ada.post(
        "/settings/branding", data=form, files={"logo": ("logo.png", png(), "image/png")}
    )
    assert saved.status_code == 303, saved.text
    with db.session() as session:
        stored = branding.load(session)
    assert (stored.agency_name, stored.primary, stored.accent) == (
        "Pixel & Partner",
        "#112233",
        "#ff8800",
    )
    assert stored.public_url == "https://care.pixel.example"
    assert branding.logo_bytes(stored) == png() and stored.logo_type == "image/png"
    page = ada.get("/settings").text
    assert 'value="Pixel &amp; Partner"' in page and 'src="data:image/png;base64,' in page


def test_the_form_refuses_what_a_report_must_not_carry(live: Live, db: Database) -> None:
    ada = login(live.base, "ada@agency.example")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    bad = ada.post(
        "/settings/branding",
        data={"csrf_token": csrf_of(ada), "agency_name": "Evil"},
        files={"logo": ("logo.svg", svg, "image/svg+xml")},
    )
    assert bad.status_code == 400 and "PNG or JPEG" in bad.text
    colour = ada.post(
        "/settings/branding", data={"csrf_token": csrf_of(ada), "primary": "red}</style>"}
    )
    assert colour.status_code == 400
    forged = ada.post("/settings/branding", data={"agency_name": "No token"})
    assert forged.status_code == 403
    with db.session() as session:
        assert branding.load(session) == branding.Branding()  # nothing kept


def test_only_admins_change_the_branding(live: Live, db: Database) -> None:
    tom = login(live.base, "tom@agency.example")
    refused = tom.post(
        "/settings/branding", data={"csrf_token": csrf_of(tom), "agency_name": "Tom's"}
    )
    assert refused.status_code in (403, 404)
    with db.session() as session:
        assert branding.load(session).agency_name == ""
