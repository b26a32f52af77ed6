"""The site page shows what the outside security probe found, worst first, with the fix,
and offers the probe as an action (issue 12 §3)."""

from __future__ import annotations

from datetime import UTC, datetime

from sitekeeper.domain.exposure import EXPOSURE, SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.store import findings
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, login

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ISSUES = [
    SecurityIssue(
        "header", "X-Content-Type-Options", Severity.INFO, "No X-Content-Type-Options: nosniff",
        "Send X-Content-Type-Options: nosniff.", "missing",
    ),
    SecurityIssue(
        "exposed-file", "/.env", Severity.CRITICAL,
        "Environment file with secrets downloadable (/.env)",
        "Deny dot-files in the web server; rotate its secrets.", "<script>APP_KEY=x</script>",
    ),
]  # fmt: skip


def test_site_page_lists_security_issues_worst_first(
    db: Database, live: Live, world: World
) -> None:
    site_id = world.globex_sites[0]
    tom = login(live.base, "tom@agency.example")
    before = tom.get(f"/sites/{site_id}").text
    assert "No open security finding (or not checked yet)." in before
    assert (
        '<button type="submit" name="kind" value="probe-security">Check security</button>' in before
    )
    with db.session() as session:
        findings.reconcile(
            session, [i.spec(site_id) for i in ISSUES], NOW, site_ids=[site_id], kinds=[EXPOSURE]
        )
    page = tom.get(f"/sites/{site_id}").text
    section = page[page.index('id="security"') :]
    section = section[: section.index("</section>")]
    assert section.index("sev-critical") < section.index("sev-info")
    assert "Environment file with secrets downloadable (/.env)" in section
    assert "Deny dot-files in the web server; rotate its secrets." in section
    assert "&lt;script&gt;APP_KEY=x&lt;/script&gt;" in section  # the site's words, escaped
    assert "<script>APP_KEY" not in page
