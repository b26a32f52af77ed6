"""The client report as a document (tests/reports/seed.py's October): the first page's
sentences in English and German with their plurals, the HTML's escaping of hostile
strings, the links to the records, every template text through the catalogue, and the
contract a report can be narrowed to."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from sqlalchemy import select

from sitekeeper.domain.findings import VULNERABILITY, FindingSpec
from sitekeeper.errors import UsageError
from sitekeeper.locale import translations
from sitekeeper.reports import branding
from sitekeeper.reports.document import RenderedReport, render_report, summary_text
from sitekeeper.reports.period import month
from sitekeeper.store import findings
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Event, Site
from sitekeeper.store.update_tables import UpdateHold
from sitekeeper.store.work_tables import WorkEntry
from tests.reports.seed import NOW, Month, seed

TEMPLATES = Path(__file__).resolve().parents[2] / "src/sitekeeper/reports/templates"

EN = (
    "All 3 sites were up 99.91% of the time. There were 2 outages, 1 hour 30 minutes in "
    "total. 2 updates were applied, 1 of them a security fix, on average 49 hours 30 minutes "
    "after their release. 1 update was rolled back automatically because the site failed its "
    "checks after it. 3 backups were taken, 1 failed; the restore drill on October 28 passed. "
    "2 published vulnerabilities concerned the sites; 1 is still open. Our team worked 3 hours "
    "15 minutes on the sites by hand."
)
DE = (
    "Alle 3 Websites waren 99,91 % der Zeit erreichbar. Es gab 2 Ausfälle, insgesamt 1 Stunde "
    "30 Minuten. 2 Updates wurden eingespielt, davon 1 Sicherheitsupdate, im Schnitt 49 "
    "Stunden 30 Minuten nach ihrer Veröffentlichung. 1 Update wurde automatisch zurückgenommen, "
    "weil die Website danach ihre Prüfungen nicht bestand. 3 Backups wurden erstellt, 1 schlug "
    "fehl; der Wiederherstellungstest am 28. Oktober war erfolgreich. 2 veröffentlichte "
    "Sicherheitslücken betrafen die Websites; 1 ist noch offen. Unser Team hat 3 Stunden 15 "
    "Minuten von Hand an den Websites gearbeitet."
)


def rendered(
    db: Database, ids: Month, period: str = "2026-10", *, contract_id: int | None = None
) -> RenderedReport:
    with db.session() as session:
        client = session.get(Client, ids.client)
        assert client is not None
        return render_report(
            session, client, month(period, client.timezone), NOW, contract_id=contract_id
        )


def set_language(db: Database, ids: Month, language: str) -> None:
    with db.session() as session:
        client = session.get(Client, ids.client)
        assert client is not None
        client.language = language


class Visible(HTMLParser):
    """The text a reader sees (not the style sheet), and every element and attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text.append(data)


def visible(html: str) -> Visible:
    parser = Visible()
    parser.feed(html)
    return parser


def words(html: str) -> str:
    return " ".join(" ".join(visible(html).text).replace("\xa0", " ").split())


def test_the_first_page_says_the_month_in_english_and_german(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    report = rendered(sqlite_db, ids)
    assert summary_text(report.figures, "en") == EN
    assert summary_text(report.figures, "de").replace("\xa0", " ") == DE  # 99,91 %: no break
    assert summary_text(report.figures, "de-AT").replace("\xa0", " ") == DE
    assert DE in words(report.html)  # the client's language is German


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"sites": 1, "uptime_pct": 100.0}, "The site was up 100% of the time."),
        ({"incidents": 1, "downtime_s": 300}, "There was 1 outage, 5 minutes in total."),
        ({"incidents": 0}, "There was no outage."),
        ({"updates_applied": 1, "security_fixes": 0}, "1 update was applied, on average"),
        ({"updates_applied": 0}, "No update was applied."),
        ({"rolled_back": 0}, "3 backups were taken"),  # no sentence about rollbacks
        ({"backups_taken": 1, "backups_failed": 0}, "1 backup was taken; the restore drill"),
        ({"backups_taken": 0, "backups_failed": 0}, "No backup was taken; the restore drill"),
        ({"advisories": 1, "advisories_open": 0}, "1 published vulnerability concerned the"),
        ({"uptime_pct": 99.999}, "99.99% of the time"),  # never rounded up to 100 %
        ({"uptime_pct": None}, "No uptime was measured in this period."),
    ],
)
def test_each_sentence_has_its_plural(
    sqlite_db: Database, changes: dict[str, object], said: str
) -> None:
    figures = rendered(sqlite_db, seed(sqlite_db)).figures
    changed = replace(figures, summary=replace(figures.summary, **changes))  # type: ignore[arg-type]
    assert said in summary_text(changed, "en")


def test_german_plurals(sqlite_db: Database) -> None:
    figures = rendered(sqlite_db, seed(sqlite_db)).figures
    one = replace(
        figures,
        summary=replace(figures.summary, sites=1, incidents=1, backups_taken=1, backups_failed=2),
    )
    text = summary_text(one, "de").replace("\xa0", " ")
    assert "Die Website war 99,91 % der Zeit erreichbar." in text
    assert "Es gab 1 Ausfall, insgesamt 1 Stunde 30 Minuten." in text
    assert "1 Backup wurde erstellt, 2 schlugen fehl;" in text


def test_a_month_without_sites(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    set_language(sqlite_db, ids, "en")
    report = rendered(sqlite_db, ids, "2026-07")
    assert summary_text(report.figures, "en") == "No site was looked after in this period."
    assert "No site was looked after in this period." in words(report.html)
    assert "0 min" in words(report.html)


def test_every_template_text_goes_through_the_catalogue() -> None:
    """Strip the template syntax, tags and style sheet: no letter may be left, so every
    visible word comes from ``_()``/``ngettext()`` (or from the figures)."""
    for path in TEMPLATES.glob("*.html"):
        source = path.read_text(encoding="utf-8")
        source = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.S)
        source = re.sub(r"<style>.*?</style>|<!DOCTYPE[^>]*>|<[^>]+>", " ", source, flags=re.S)
        left = re.sub(r"&\w+;", " ", source)
        assert not re.search(r"[^\W\d_]", left), f"{path.name}: not in the catalogue: {left}"


SAME_IN_GERMAN = {"Backups", "Updates", "Plugin", "Theme", "Domain"}


def test_german_leaves_no_english_text_of_the_templates(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    text = words(rendered(sqlite_db, ids).html)
    german = translations("de")
    found = list(extract_from_dir(str(TEMPLATES), method_map=[("**.html", "jinja2")]))
    assert len(found) > 80
    left = []
    for _file, _line, message, _comments, _context in found:
        singular = message[0] if isinstance(message, tuple) else message
        translated = (
            german.ngettext(message[0], message[1], 2)
            if isinstance(message, tuple)
            else german.gettext(message)
        )
        if translated == singular and singular not in SAME_IN_GERMAN:
            left.append(singular)  # no translation at all
        for part in re.split(r"%\(\w+\)s|\{\w+\}", singular):
            piece = part.strip(" .,:·")
            shown = re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text)
            if len(piece) >= 3 and shown and piece not in translated:
                left.append(piece)
    assert left == []


def test_hostile_strings_are_escaped(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'{{7*7}}"
    with sqlite_db.session() as session:
        client = session.get(Client, ids.client)
        assert client is not None
        client.name = f"Client {attack}"
        client.language = "en"
        shop = session.get(Site, ids.shop)
        assert shop is not None
        shop.name = f"shop {attack}"
        session.execute(select(UpdateHold)).scalar_one().reason = f"held {attack}"
        for entry in session.scalars(select(WorkEntry)):
            entry.note = f"</style></td>{attack}"
            entry.by = attack
        for event in session.scalars(select(Event).where(Event.kind.like("update.%"))):
            data = dict(event.data or {})
            data["items"] = [{**i, "installed": attack, "package": attack} for i in data["items"]]
            event.data = data
        branding.save(
            session,
            {
                "agency_name": f'Agency"; }} body {{ display: none }} </style>{attack}',
                "footer": f'footer \\" {attack}',
                "contact": attack,
            },
        )
    html = rendered(sqlite_db, ids).html
    page = visible(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert not [name for name, _ in page.attributes if name.startswith("on")]
    assert html.count("</style>") == 1  # the agency's name cannot close the style sheet
    shown = " ".join(page.text)
    assert shown.count("<script>alert(1)</script>") >= 5  # shown as text, where it was put
    # Not a template either: wherever the attack shows, its {{7*7}} shows with it, unevaluated.
    assert shown.count("{{7*7}}") == shown.count("<script>alert(1)</script>")
    assert "held <script>" in shown and "shop <script>" in shown


def test_figures_link_to_the_records_behind_them(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    with sqlite_db.session() as session:
        branding.save(session, {"public_url": "https://care.agency.example/"})
    html = rendered(sqlite_db, ids).html
    base = "https://care.agency.example"
    links = {value for name, value in visible(html).attributes if name == "href"}
    assert f"{base}/sites/{ids.shop}" in links
    assert f"{base}/sites/{ids.shop}#incident-{ids.incidents['oct10']}" in links
    assert f"{base}/sites/{ids.shop}#event-{ids.drill_event}" in links
    assert f"{base}/sites/{ids.shop}#backups" in links
    assert f"{base}/contracts/{ids.contract}" in links
    assert f"{base}/clients/{ids.client}" in links
    assert all(link.startswith((f"{base}/", "#")) for link in links if link), (
        "every link goes to the dashboard or inside the report"
    )
    sources = [v for n, v in visible(html).attributes if n == "src"]
    assert all(v and v.startswith("data:") for v in sources), "the report fetches nothing"


def test_a_report_of_one_contract(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    report = rendered(sqlite_db, ids, contract_id=ids.contract)
    figures = report.figures
    assert [c.id for c in figures.contracts] == [ids.contract]
    assert figures.other_sites == [] and figures.other_work.entries == []
    assert figures.summary.sites == 2  # blog and shop; not the landing page on no contract
    assert figures.summary.work_minutes == 195
    assert "landing" not in words(report.html)
    with pytest.raises(UsageError, match="no contract"):
        rendered(sqlite_db, ids, contract_id=ids.contract + 100)


def test_many_sites_get_a_table_of_contents(sqlite_db: Database) -> None:
    ids = seed(sqlite_db)
    set_language(sqlite_db, ids, "en")
    assert "Contents" not in words(rendered(sqlite_db, ids).html)  # three sites in October
    november = rendered(sqlite_db, ids, "2026-11")  # "later" came on 5 November: four
    assert "Contents" in words(november.html)
    assert 'href="#site-' in november.html


def test_times_in_the_clients_zone_and_a_language_without_texts(sqlite_db: Database) -> None:
    ids = seed(sqlite_db, timezone="America/New_York")
    set_language(sqlite_db, ids, "en")
    text = words(rendered(sqlite_db, ids).html)
    assert "10/10/26, 4:00 AM" in text  # the outage of 08:00 UTC, in New York (EDT)
    assert "times in America/New_York" in text
    set_language(sqlite_db, ids, "fr")  # no French catalogue: English texts and formats
    text = words(rendered(sqlite_db, ids).html)
    assert "Maintenance report" in text and "October 2026" in text and "octobre" not in text


def test_the_catalogue_template_has_every_text_of_the_report() -> None:
    """A text added to the report's code or templates without ``pybabel extract`` (the
    command in ``sitekeeper.locale``) would never be translated."""
    from babel.messages.extract import DEFAULT_KEYWORDS
    from babel.messages.pofile import read_po

    src = TEMPLATES.parent
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "NP_": (1, 2)}
    found = {
        message[0] if isinstance(message, tuple) else message
        for _f, _l, message, _c, _x in extract_from_dir(
            str(src),
            method_map=[("**/templates/**.html", "jinja2"), ("*.py", "python")],
            keywords=keywords,
        )
    }
    with (src.parent / "locale" / "sitekeeper.pot").open("rb") as f:
        known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(f) if m.id}
    assert len(found) > 100 and found - known == set()


def test_an_open_advisory_without_an_update_says_no_fix_exists(sqlite_db: Database) -> None:
    """A vulnerability the vendor has not fixed yet has no pending update to name: the
    report says so instead of failing to render (half the benchmark's clients did)."""
    ids = seed(sqlite_db)
    spec = FindingSpec(
        site_id=ids.blog,
        kind=VULNERABILITY,
        ecosystem="wordpress",
        type="plugin",
        package="unfixed-forms",
        installed="3.1",
        basis="inventory",
        advisory_id="WF-2026-77",
        security=True,
        severity="high",
    )
    with sqlite_db.session() as session:
        findings.reconcile(
            session,
            [spec],
            datetime(2026, 10, 20, tzinfo=UTC),
            packages={("wordpress", "unfixed-forms")},
        )
    set_language(sqlite_db, ids, "en")
    text = words(rendered(sqlite_db, ids).html)
    assert "WF-2026-77" in text
    assert "no fixed version yet" in text
