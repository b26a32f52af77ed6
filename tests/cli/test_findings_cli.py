"""``sitekeeper findings``: a site's findings worst first (exit 1 while it shows signs of a
hack), and ``findings ack`` acknowledging a false positive with a reason, journaled with
who and why, undone with ``--undo``."""

from __future__ import annotations

from datetime import UTC, datetime

from sitekeeper.config import settings
from sitekeeper.store import findings
from sitekeeper.store.database import Database
from tests.cli.conftest import Run, as_json
from tests.store.factories import hack_spec

SHELL = "wp-content/uploads/2026/11/\x1b[31mcache.php"  # a file name that tries the terminal


def _hacked(run: Run) -> None:
    run("client", "add", "Bäckerei Müller")
    run("site", "add", "https://example.com", "--client", "Bäckerei Müller", "--name", "shop")
    database = Database(settings().resolved_database_url)
    try:
        with database.session() as session:
            specs = [
                hack_spec(1, "malware", SHELL, "critical", title="Web shell"),
                hack_spec(1, "integrity", "wp-includes/version.php", "medium", title="Modified"),
            ]
            findings.reconcile(session, specs, datetime.now(UTC), site_ids=[1])
    finally:
        database.dispose()


def test_findings_list_ack_and_undo(run: Run) -> None:
    _hacked(run)
    listed = run("findings", "shop", "--json", ok=False)
    assert listed.exit_code == 1  # signs of a hack
    data = as_json(listed)
    assert (data["site"], data["compromised"], data["acknowledged"]) == ("shop", 1, [])
    shell, modified = data["findings"]
    assert (shell["kind"], shell["severity"], shell["hack_sign"]) == ("malware", "critical", True)
    assert shell["evidence"] == SHELL and "\x1b" not in listed.stdout  # escaped in JSON
    assert not modified["hack_sign"]
    only = as_json(run("findings", "shop", "--kind", "integrity", "--json"))
    assert [f["id"] for f in only["findings"]] == [modified["id"]] and only["compromised"] == 0

    refused = run("findings", "ack", str(shell["id"]), ok=False)
    assert refused.exit_code == 2 and "--reason" in refused.stderr
    blank = run("findings", "ack", str(shell["id"]), "--reason", " ", ok=False)
    assert blank.exit_code == 2 and "reason" in blank.stderr

    made = as_json(run("findings", "ack", str(shell["id"]), "--reason", "our sample", "--json"))
    assert (made["finding_id"], made["reason"]) == (shell["id"], "our sample")
    assert made["by"].startswith("cli:")
    after = as_json(run("findings", "shop", "--json"))  # exit 0: nothing left that says hacked
    assert after["compromised"] == 0 and [f["id"] for f in after["findings"]] == [modified["id"]]
    assert [a["reason"] for a in after["acknowledged"]] == ["our sample"]
    journal = as_json(run("journal", "--json"))
    acked = next(e for e in journal if e["kind"] == "finding.acknowledged")
    assert (acked["site"], acked["data"]["reason"]) == ("shop", "our sample")
    assert acked["data"]["actor"] == made["by"]
    said = run("journal", "--kind", "finding.acknowledged").stdout
    assert "Malware acknowledged as not a problem" in said and "our sample" in said

    run("findings", "ack", str(shell["id"]), "--undo")
    back = run("findings", "shop", "--json", ok=False)
    assert back.exit_code == 1 and as_json(back)["acknowledged"] == []
    again = run("findings", "ack", str(shell["id"]), "--undo", ok=False)
    assert again.exit_code == 2 and "not acknowledged" in again.stderr
    missing = run("findings", "ack", "999", "--reason", "x", ok=False)
    assert missing.exit_code == 2 and "no finding 999" in missing.stderr
