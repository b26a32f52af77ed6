"""The sample client report in docs/: a realistic client's month, seeded through the
store's own functions, rendered as the client gets it (PDF, and PNG pages of it).

Northwind Trading has ten WordPress sites on the agency's "Care Plus" plan in November
2026 (Europe/London): checks every minute, three outages, a dozen updates (two of them
security fixes, one rolled back by its health check), a backup a night with one failure,
monthly restore drills, two advisories (one fixed, one waiting for the client's
approval) and five hours of work by hand against four included.

    .venv/bin/python bench/sample_report.py                  # docs/sample-report.pdf + PNGs
    .venv/bin/python bench/sample_report.py --language de --out /tmp/sample
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import insert
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sitekeeper.domain.advisory import Advisory  # noqa: E402
from sitekeeper.domain.findings import UPDATE, VULNERABILITY, FindingSpec  # noqa: E402
from sitekeeper.domain.incidents import IncidentKind  # noqa: E402
from sitekeeper.domain.updates import Check, UpdateItem  # noqa: E402
from sitekeeper.reports import branding  # noqa: E402
from sitekeeper.reports.document import render_report  # noqa: E402
from sitekeeper.reports.period import month  # noqa: E402
from sitekeeper.store import (  # noqa: E402
    advisories,
    backups,
    clients,
    contracts,
    findings,
    plans,
    sites,
    work_log,
)
from sitekeeper.store import update_approvals as queue  # noqa: E402
from sitekeeper.store import updates as update_runs  # noqa: E402
from sitekeeper.store.backup_tables import SCHEDULED  # noqa: E402
from sitekeeper.store.database import Database  # noqa: E402
from sitekeeper.store.intel_tables import CatalogueRelease, SiteSoftware  # noqa: E402
from sitekeeper.store.tables import CheckDaily, Client, Incident, Site, SiteState  # noqa: E402
from sitekeeper.store.update_tables import APPLIED, ROLLED_BACK  # noqa: E402
from sitekeeper.vault import Vault  # noqa: E402

ECO = "wordpress"
ZONE = "Europe/London"
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
SITES = [  # name, typical median response (ms)
    ("shop.northwind.example", 180),
    ("www.northwind.example", 95),
    ("blog.northwind.example", 120),
    ("careers.northwind.example", 110),
    ("investors.northwind.example", 85),
    ("support.northwind.example", 140),
    ("events.northwind.example", 130),
    ("northwind.de", 160),
    ("northwind.fr", 150),
    ("docs.northwind.example", 70),
]
LOGO = """<svg xmlns="http://www.w3.org/2000/svg" width="360" height="96">
<rect width="360" height="96" fill="#ffffff"/><circle cx="48" cy="48" r="34" fill="#0f4c81"/>
<path d="M30 62 L48 26 L66 62 Z" fill="#f2a541"/>
<text x="96" y="58" font-family="DejaVu Sans" font-weight="bold" font-size="30"
fill="#0f4c81">Lighthouse</text><text x="98" y="80" font-family="DejaVu Sans" font-size="14"
fill="#5b6470">web care</text></svg>"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(db: Database, language: str) -> int:
    """Seed the month; the client's id."""
    rng = random.Random(11)
    with db.session() as s:
        client = clients.add_client(
            s,
            Vault(Fernet.generate_key()),
            name="Northwind Trading Ltd",
            language=language,
            timezone=ZONE,
            now=at("2026-01-10 09:00"),
        )
        plan = plans.add_plan(
            s,
            name="Care Plus",
            price=Decimal("390"),
            currency="GBP",
            now=at("2026-01-10 09:00"),
            options={
                "backup": "daily",
                "keep_daily": 14,
                "keep_weekly": 8,
                "keep_monthly": 12,
                "restore_drill": "monthly",
                "update_policy": "security",
                "update_window": "Mon-Fri 22:00-06:00",
                "security_within_hours": 24,
                "uptime_target": 99.9,
                "sla_hours": 4,
                "hours_included": 4,
                "hourly_rate": "95",
            },
        )
        deal = contracts.add_contract(
            s,
            client_id=client.id,
            plan_id=plan.id,
            start=date(2026, 2, 1),
            now=at("2026-01-10 09:00"),
        )
        made = [
            sites.add_site(
                s,
                sites.SiteFields(url=f"https://{name}/", name=name, client=client, contract=deal),
                at("2026-02-01 00:00") if n < 9 else at("2026-11-12 10:00"),  # docs: mid-month
                default_interval=60,
            )
            for n, (name, _) in enumerate(SITES)
        ]
        _checks(s, made, rng)
        _incidents(s, made)
        _backups(s, made, rng)
        _updates(s, made)
        _security(s, made[0], made[2])
        _work(s, client, made)
        for n, site in enumerate(made):
            s.add(
                SiteState(
                    site_id=site.id,
                    up=True,
                    checked_at=NOW - timedelta(minutes=1),
                    tls_expires=NOW + timedelta(days=18 + 7 * n),
                    tls_issuer="Let's Encrypt R11",
                )
            )
        return client.id


def _checks(s: Session, made: list[Site], rng: random.Random) -> None:
    rows = []
    for site, (_, base) in zip(made, SITES, strict=True):
        day = FIRST
        while day <= LAST:
            if datetime.combine(day, datetime.min.time(), UTC) >= site.created_at - timedelta(
                days=1
            ):
                down = {
                    (0, 9): 22,
                    (0, 23): 6,
                    (5, 17): 14,
                }.get((made.index(site), day.day), 0)
                p50 = int(
                    base * rng.uniform(0.9, 1.15)
                    + (60 if day.day in (27, 28) and site is made[0] else 0)
                )
                rows.append(
                    {
                        "site_id": site.id,
                        "day": day,
                        "checks": 1440,
                        "up_checks": 1440 - down,
                        "p50_ms": p50,
                        "p95_ms": int(p50 * rng.uniform(2.1, 2.8)),
                    }
                )
            day += timedelta(days=1)
    s.execute(insert(CheckDaily), rows)


def _incidents(s: Session, made: list[Site]) -> None:
    for site, opened, minutes, cause in (
        (made[0], "2026-11-09 14:02", 22, "http_status: 503"),
        (made[0], "2026-11-23 03:10", 6, "timeout: no answer in 10 s"),
        (made[5], "2026-11-17 19:41", 14, "refused: cannot connect to 203.0.113.7"),
    ):
        s.add(
            Incident(
                site_id=site.id,
                kind=IncidentKind.DOWN,
                opened_at=at(opened),
                closed_at=at(opened) + timedelta(minutes=minutes),
                cause=cause,
            )
        )
    s.flush()


def _backups(s: Session, made: list[Site], rng: random.Random) -> None:
    for n, site in enumerate(made):
        day = FIRST
        while day <= LAST:
            when = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
                hours=2, minutes=n * 4
            )
            if when > site.created_at:
                run = backups.start_run(s, site, None, SCHEDULED, when)
                done = when + timedelta(minutes=3)
                if (n, day.day) == (6, 14):
                    backups.fail_run(s, run.id, "restic: repository locked", done)
                else:
                    snap = f"{site.id:02d}{day.day:02d}{rng.randrange(16**8):08x}"
                    figures = backups.RunFigures(
                        snap, 4200, 12, 30, 2_000_000, 10, 10, 900_000, 170.0
                    )
                    backups.finish_run(s, run.id, figures, done)
            day += timedelta(days=1)
        if n < 9:
            snapshot = f"{site.id:02d}20"
            runs = [
                r for r in backups.runs_of(s, site.id) if (r.snapshot_id or "").startswith(snapshot)
            ]
            if runs:
                backups.mark_verified(
                    s,
                    site,
                    runs[0].snapshot_id or "",
                    ok=True,
                    detail="restored and served",
                    figures={},
                    now=at("2026-11-28 04:30") + timedelta(minutes=9 * n),
                )


def _release(s: Session, site: Site, type_: str, package: str) -> None:
    s.add(
        SiteSoftware(
            site_id=site.id,
            ecosystem=ECO,
            type=type_,
            package=package,
            name=package,
            basis="inventory",
        )
    )


def _updates(s: Session, made: list[Site]) -> None:
    releases = {
        ("core", ECO, "6.8.3"): ("2026-11-04 16:00", False),
        ("plugin", "woocommerce", "9.4.2"): ("2026-11-12 09:00", True),
        ("plugin", "contact-form-7", "6.0.1"): ("2026-11-18 13:00", False),
        ("plugin", "elementor", "3.25.0"): ("2026-11-20 10:00", False),
    }
    for (type_, package, version), (when, security) in releases.items():
        s.add(
            CatalogueRelease(
                ecosystem=ECO,
                type=type_,
                package=package,
                version=version,
                released_at=at(when),
                security_update=security,
            )
        )
    plan = [  # site, items, applied at, outcome
        (
            made[n],
            [("core", ECO, "6.8.2", "6.8.3", False)],
            f"2026-11-0{5 + n // 4} 22:{10 + 5 * n}",
            APPLIED,
        )
        for n in range(9)
    ]
    plan += [
        (made[0], [("plugin", "woocommerce", "9.4.1", "9.4.2", True)], "2026-11-12 22:05", APPLIED),
        (
            made[6],
            [("plugin", "contact-form-7", "6.0", "6.0.1", False)],
            "2026-11-19 22:20",
            APPLIED,
        ),
        (
            made[2],
            [("plugin", "elementor", "3.24.7", "3.25.0", False)],
            "2026-11-24 22:30",
            ROLLED_BACK,
        ),
    ]
    for site, items, when, outcome in plan:
        for type_, package, *_ in items:
            _release(s, site, type_, package)
        moved = [
            {"type": t, "package": p, "installed": a, "target": b, "security": sec}
            for t, p, a, b, sec in items
        ]
        run = update_runs.start_run(
            s, site.id, moved, trigger="policy", requested_by="policy", now=at(when)
        )
        update_runs.add_step(s, run.id, Check("snapshot", True, "ok"))
        if outcome == APPLIED:
            update_runs.add_step(s, run.id, Check("health_after", True, "200"))
            update_runs.finish_run(s, run.id, APPLIED, at(when) + timedelta(minutes=6))
        else:
            update_runs.add_step(s, run.id, Check("health_after", False, "HTTP 500 on /"))
            update_runs.finish_run(
                s, run.id, ROLLED_BACK, at(when) + timedelta(minutes=9), "front page broken"
            )
    s.flush()


def _security(s: Session, shop: Site, blog: Site) -> None:
    advisories.upsert(
        s,
        [
            Advisory(
                "WF-2026-4410",
                ("CVE-2026-48810",),
                "WooCommerce: stored XSS in order notes",
                "high",
                None,
                None,
                at("2026-11-12 07:00"),
                None,
                (),
            ),
            Advisory(
                "WF-2026-4522",
                ("CVE-2026-49120",),
                "Slider Revolution: arbitrary file read",
                "medium",
                None,
                None,
                at("2026-11-26 11:00"),
                None,
                (),
            ),
        ],
        at("2026-11-12 08:00"),
    )

    def vuln(site: Site, package: str, advisory: str, installed: str) -> FindingSpec:
        return FindingSpec(
            site_id=site.id,
            kind=VULNERABILITY,
            ecosystem=ECO,
            type="plugin",
            package=package,
            installed=installed,
            basis="inventory",
            advisory_id=advisory,
            security=True,
            severity="high",
        )

    def scope(*names: str) -> set[tuple[str, str]]:
        return {(ECO, n) for n in names}

    findings.reconcile(
        s,
        [vuln(shop, "woocommerce", "WF-2026-4410", "9.4.1")],
        at("2026-11-12 08:15"),
        packages=scope("woocommerce"),
    )
    findings.reconcile(s, [], at("2026-11-12 22:20"), packages=scope("woocommerce"))
    update = FindingSpec(
        site_id=blog.id,
        kind=UPDATE,
        ecosystem=ECO,
        type="plugin",
        package="revslider",
        installed="6.7.18",
        latest="6.7.20",
        basis="inventory",
        security=True,
    )
    findings.reconcile(
        s,
        [vuln(blog, "revslider", "WF-2026-4522", "6.7.18"), update],
        at("2026-11-26 12:00"),
        packages=scope("revslider"),
    )
    queue.request(
        s,
        blog.id,
        UpdateItem("plugin", "revslider", "6.7.18", "6.7.20", ECO),
        at("2026-11-26 12:05"),
    )


def _work(s: Session, client: Client, made: list[Site]) -> None:
    for site, day, minutes, note in (
        (made[0], date(2026, 11, 3), 90, "New shipping rates for the EU checkout"),
        (
            made[9],
            date(2026, 11, 12),
            60,
            "Set up docs.northwind.example: monitoring, backups, redirects",
        ),
        (
            made[2],
            date(2026, 11, 25),
            45,
            "Checked why Elementor 3.25 broke the front page; reported to the vendor",
        ),
        (None, date(2026, 11, 27), 60, "Quarterly review call with the marketing team"),
        (made[5], date(2026, 11, 18), 45, "Firewall rule after the outage of 17 November"),
    ):
        work_log.add_entry(
            s,
            client=client,
            site=site,
            day=day,
            minutes=minutes,
            note=note,
            by="Sam Okafor",
            now=NOW,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en", help="the client's language (en, de)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where to write")
    parser.add_argument("--name", default="sample-report", help="file name without suffix")
    parser.add_argument("--pages", type=int, default=3, help="PNG pages to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{scratch}/sample.db")
        client_id = seed(db, args.language)
        with db.session() as s:
            branding.save(
                s,
                {
                    "agency_name": "Lighthouse Web Care",
                    "primary": "#0f4c81",
                    "accent": "#e8912d",
                    "contact": "care@lighthouse.example · +44 20 7946 0958",
                    "footer": "Lighthouse Web Care Ltd · 12 Harbour Street · Bristol BS1 4QA",
                    "public_url": "https://care.lighthouse.example",
                },
                logo=_logo_png(),
            )
            client = s.get(Client, client_id)
            assert client is not None
            report = render_report(s, client, month("2026-11", ZONE), NOW)
        db.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    pdf = args.out / f"{args.name}.pdf"
    pdf.write_bytes(report.pdf())
    (args.out / f"{args.name}.html").write_text(
        report.html, encoding="utf-8"
    ) if args.out != ROOT / "docs" else None
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "70",
            "-png",
            "-f",
            "1",
            "-l",
            str(args.pages),
            str(pdf),
            str(args.out / args.name),
        ],
        check=True,
    )
    for png in sorted(args.out.glob(f"{args.name}-*.png")):  # pdftoppm pads: -01, -02 …
        png.rename(png.with_name(f"{args.name}-{int(png.stem.rsplit('-', 1)[1])}.png"))
    print(f"wrote {pdf} and {args.pages} PNG pages")


def _logo_png() -> bytes:
    """The agency's logo as PNG (the report takes no SVG), drawn from the SVG above."""
    from weasyprint import HTML  # noqa: PLC0415

    # WeasyPrint draws the SVG; pdftoppm turns the page into the PNG the settings take.
    with tempfile.TemporaryDirectory() as scratch:
        page = f"<style>@page{{size:360px 96px;margin:0}}body{{margin:0}}</style>{LOGO}"
        HTML(string=page).write_pdf(f"{scratch}/logo.pdf")
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "192",
                "-png",
                "-singlefile",
                f"{scratch}/logo.pdf",
                f"{scratch}/logo",
            ],
            check=True,
        )
        return Path(f"{scratch}/logo.png").read_bytes()


if __name__ == "__main__":
    main()
