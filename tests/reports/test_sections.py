"""The report's security findings and domain sections (issue 12), on the known October of
tests/reports/seed.py: exposure and hack-detection findings of every kind read from the
findings table and the journal's acknowledgements, and the domain watch's registration
and DNS changes; their figures in ``--json`` and their sentences in English and German."""

from __future__ import annotations

import re
from datetime import datetime

from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.registration import DOMAIN
from sitekeeper.reports.document import RenderedReport, render_report, summary_text
from sitekeeper.reports.period import month
from sitekeeper.store import finding_acks, journal
from sitekeeper.store.database import Database
from sitekeeper.store.domain_tables import SiteDomain
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Client
from tests.reports.seed import NOW, Month, at, seed


def _finding(
    site_id: int,
    kind: str,
    type_: str,
    item: str,
    opened: datetime,
    resolved: datetime | None = None,
    **data: str,
) -> Finding:
    return Finding(
        site_id=site_id,
        key=f"{kind}:{type_}:{item}",
        kind=kind,
        ecosystem="web",
        type=type_,
        package=item,
        basis="outside",
        data=dict(data),
        opened_at=opened,
        resolved_at=resolved,
    )


def seeded(db: Database) -> Month:
    """On the shop, in October (Berlin): an exposed .git found on the 3rd, resolved on the
    5th; a changed core file found on the 10th, accepted as expected on the 12th; a web
    shell found on the 20th, still open; SEO spam found in September, still open; an old
    exposure resolved in September (not in the report). Its domain: registered at
    Example Registrar until 20 November (18 days after the report is made), DNSSEC off,
    two DNS changes in the month (one in November), a domain warning opened on the 25th."""
    ids = seed(db)
    with db.session() as s:
        shop = ids.shop
        rows = [
            _finding(shop, "exposure", "git", "/.git/HEAD", at("2026-10-03 08:00"),
                     at("2026-10-05 08:00"), severity="high", title="Git repository exposed"),
            _finding(shop, "integrity", "core", "wp-includes/version.php", at("2026-10-10 08:00"),
                     severity="medium", title="Core file changed", digest="ab12"),
            _finding(shop, "malware", "yara", "wp-content/uploads/x.php", at("2026-10-20 08:00"),
                     severity="critical", title="Web shell <b>FilesMan</b>"),
            _finding(shop, "seo", "cloaking", "/", at("2026-09-20 08:00"), severity="high"),
            _finding(shop, "exposure", "env", "/.env", at("2026-09-01 08:00"),
                     at("2026-09-02 08:00"), severity="critical"),
        ]  # fmt: skip
        s.add_all(rows)
        s.flush()
        finding_acks.acknowledge(s, rows[1], "our own patch", "ada", at("2026-10-12 09:00"))
        s.add(
            SiteDomain(
                site_id=shop,
                domain="shop.example",
                registrar="Example Registrar",
                expires_at=at("2026-11-20 00:00"),
                dnssec=False,
                rdap_checked_at=at("2026-11-01 06:00"),
            )
        )
        for when in ("2026-10-08 10:00", "2026-10-30 10:00", "2026-11-01 10:00"):
            journal.record(
                s, DomainEventKind.DNS_CHANGED, site_id=shop, data={"host": "shop.example"},
                ts=at(when),
            )  # fmt: skip
        s.add(
            _finding(shop, DOMAIN, "expiry", "shop.example", at("2026-10-25 06:00"),
                     severity="medium", title="Domain expires in 26 days")
        )  # fmt: skip
    return ids


def report(db: Database, ids: Month, language: str = "en") -> RenderedReport:
    with db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        client.language = language
        return render_report(s, client, month("2026-10", client.timezone), NOW)


def _text(html: str, anchor: str) -> str:
    part = html[html.index(f'id="site-{anchor}"') :]
    part = part[: part.index("</section>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))


def test_security_findings_and_domain_in_the_figures(db: Database) -> None:
    ids = seeded(db)
    made = report(db, ids)
    shop = next(s for s in made.figures.contracts[0].sites if s.id == ids.shop)
    det = shop.detections
    assert (det.found, det.resolved, det.open) == (3, 2, 2)
    assert det.open_by_kind == {"malware": 1, "seo": 1}
    assert [(d.kind, d.resolved_at is None, d.acknowledged) for d in det.findings] == [
        ("malware", True, False),  # open first, most severe first
        ("seo", True, False),
        ("exposure", False, False),
        ("integrity", False, True),
    ]
    dom = shop.domain
    assert dom is not None
    assert (dom.domain, dom.registrar, dom.dnssec, dom.days_left) == (
        "shop.example", "Example Registrar", False, 18,
    )  # fmt: skip
    assert (dom.dns_changes, dom.issues_opened, dom.issues_resolved) == (2, 1, 0)
    assert [i.title for i in dom.open_issues] == ["Domain expires in 26 days"]
    blog = next(s for s in made.figures.contracts[0].sites if s.id == ids.blog)
    assert blog.domain is None and blog.detections.findings == []

    assert (made.figures.summary.detections, made.figures.summary.detections_open) == (4, 2)
    data = made.figures.to_json()
    [shown] = [s for s in data["contracts"][0]["sites"] if s["id"] == ids.shop]
    assert shown["detections"]["open"] == 2
    assert shown["detections"]["findings"][3]["event_id"] is not None
    assert shown["domain"]["expires_at"] == "2026-11-20T00:00:00+00:00"


def test_the_sections_in_english_and_german(db: Database) -> None:
    ids = seeded(db)
    en = _text(report(db, ids).html, str(ids.shop))
    assert "Our security checks found 3 issues in this period · 2 resolved · 2 still open" in en
    assert "malicious code: Web shell <b>FilesMan</b>" not in en  # escaped, shown as text
    assert "malicious code: Web shell &lt;b&gt;FilesMan&lt;/b&gt;" in en
    assert "accepted as expected on Oct 12, 2026" in en
    assert "shop.example · registered with Example Registrar · DNSSEC off" in en
    assert "Registered until Nov 20, 2026 · 18 days left" in en
    assert "2 changes to the DNS records seen in this period · 1 domain warning raised" in en

    assert "Our security checks found 4 issues on the sites; 2 are still open." in (
        summary_text(report(db, ids).figures, "en")
    )
    assert "Unsere Sicherheitsprüfungen fanden 4 Probleme auf den Websites; 2 sind noch offen." in (
        summary_text(report(db, ids).figures, "de")
    )
    de = _text(report(db, ids, "de").html, str(ids.shop))
    assert "Unsere Sicherheitsprüfungen fanden in diesem Zeitraum 3 Probleme" in de
    assert "2 behoben · 2 noch offen" in de
    assert "Schadcode: Web shell" in de
    assert "als erwartet akzeptiert am 12.10.2026" in de
    assert "registriert bei Example Registrar · DNSSEC aus" in de
    assert "Registriert bis 20.11.2026 · noch 18 Tage" in de
    assert "2 Änderungen an den DNS-Einträgen in diesem Zeitraum" in de


def test_a_site_with_nothing_found_says_so(db: Database) -> None:
    ids = seed(db)
    text = _text(report(db, ids).html, str(ids.blog))
    assert "Our security checks found nothing exposed and no sign of a break-in." in text
    assert "Domain" not in text  # the watch never looked: no section


def test_update_step_names_are_in_the_clients_language() -> None:
    from sitekeeper.reports.html import _coder
    from sitekeeper.reports.wording import Wording

    de = _coder(Wording("de", "Europe/Berlin"))
    en = _coder(Wording("en", "Europe/Berlin"))
    assert de("home.status") == "Startseite: Statuscode"
    assert en("login.title") == "login page: page title"
    assert de("inside.maintenance") == "Prüfung innerhalb der Website: Wartungsmodus"
    assert de("package akismet") == "Paketprüfung akismet"
    assert de("sudo") == "Zugriff als Eigentümer der Website"
    assert de("health_after") == "Funktionsprüfung nach dem Update"
    assert de("home.unknown") == "home.unknown"  # a step with no entry stays as it is (data)
