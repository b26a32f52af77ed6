"""journal: its text output reads as sentences; its --json keeps the raw, documented shape."""

from __future__ import annotations

from tests.cli.conftest import Run, as_json

EVENT_KEYS = {"id", "ts", "kind", "site_id", "site", "client_id", "incident_id", "data"}


def test_journal_text_is_worded_and_json_stays_raw(agency: Run) -> None:
    agency("site", "add", "https://example.com", "--client", "1")
    agency("site", "remove", "example.com")
    lines = agency("journal").stdout.splitlines()
    assert lines[0].split("\t") == ["id", "time", "kind", "site", "what"]
    assert [line.split("\t")[2:] for line in lines[1:]] == [
        ["site.removed", "-", "Site removed — example.com (https://example.com/)"],
        ["site.added", "-", "Site added — example.com (https://example.com/)"],
    ]
    events = as_json(agency("journal", "--json"))
    assert {frozenset(e) for e in events} == {frozenset(EVENT_KEYS)}
    assert events[1]["data"] == {"name": "example.com", "url": "https://example.com/"}


def test_journal_of_one_site_names_it(agency: Run) -> None:
    agency("site", "add", "https://example.com", "--client", "1")
    agency("site", "add", "https://shop.example.org", "--client", "1")
    events = as_json(agency("journal", "--json", "shop.example.org"))
    assert [(e["kind"], e["site"]) for e in events] == [("site.added", "shop.example.org")]
    everything = as_json(agency("journal", "--json"))
    assert {e["site"] for e in everything if e["kind"] == "site.added"} == {
        "example.com",
        "shop.example.org",
    }
