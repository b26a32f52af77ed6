"""``sitekeeper work``: log work by hand on a site or a client, list it by month, remove it;
and the plan's included hours and hourly rate it is counted against."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from tests.cli.conftest import Run, as_json


def test_work_is_logged_on_a_site_or_a_client_and_listed_by_month(agency: Run) -> None:
    agency("site", "add", "https://example.com", "--client", "Bäckerei Müller", "--name", "shop")
    on_site = as_json(
        agency(
            "work",
            "add",
            "shop",
            "--minutes",
            "45",
            "--note",
            "Contact form fixed",
            "--date",
            "2026-11-03",
            "--by",
            "Tom",
            "--json",
        )
    )
    assert on_site["site"] == "shop" and on_site["client"] == "Bäckerei Müller"
    assert (on_site["date"], on_site["minutes"], on_site["by"]) == ("2026-11-03", 45, "Tom")
    whole = as_json(
        agency(
            "work",
            "add",
            "Bäckerei Müller",
            "--minutes",
            "30",
            "--note",
            "Call about the shop",
            "--date",
            "2026-11-30",
            "--json",
        )
    )
    assert whole["site"] is None and whole["site_id"] is None
    agency("work", "add", "shop", "--minutes", "15", "--note", "December", "--date", "2026-12-01")

    november = as_json(agency("work", "list", "--period", "2026-11", "--json"))
    assert [e["minutes"] for e in november] == [45, 30]
    assert [e["note"] for e in november] == ["Contact form fixed", "Call about the shop"]
    assert set(november[0]) == {
        "id",
        "client_id",
        "client",
        "site_id",
        "site",
        "date",
        "minutes",
        "note",
        "by",
        "created_at",
    }
    table = agency("work", "list", "--period", "2026-11")
    assert "Contact form fixed" in table.stdout and "75 minutes in 2 entries" in table.stderr
    on_shop = as_json(agency("work", "list", "--site", "shop", "--json"))
    assert [e["date"] for e in on_shop] == ["2026-11-03", "2026-12-01"]
    assert len(as_json(agency("work", "list", "--client", "1", "--json"))) == 3

    agency("work", "remove", str(on_site["id"]))
    assert [e["minutes"] for e in as_json(agency("work", "list", "--json"))] == [30, 15]
    gone = agency("work", "remove", str(on_site["id"]), ok=False)
    assert gone.exit_code == 2 and "no work entry" in gone.stderr


def test_the_default_date_is_today_in_the_clients_time_zone(agency: Run) -> None:
    agency("client", "edit", "Bäckerei Müller", "--timezone", "Pacific/Auckland")
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        entry = as_json(agency("work", "add", "1", "--minutes", "10", "--note", "x", "--json"))
    assert entry["date"] == "2026-12-01"  # already tomorrow in Auckland


def test_bad_work_entries_are_refused(agency: Run) -> None:
    agency("site", "add", "https://example.com", "--client", "1", "--name", "Bäckerei Müller")
    both = agency("work", "add", "Bäckerei Müller", "--minutes", "5", "--note", "x", ok=False)
    assert both.exit_code == 2 and "names a site and a client" in both.stderr
    for minutes, note, message in (
        ("0", "x", "minutes"),
        ("2000", "x", "minutes"),
        ("5", "  ", "note"),
    ):
        bad = agency("work", "add", "1", "--minutes", minutes, "--note", note, ok=False)
        assert bad.exit_code == 2 and message in bad.stderr, bad.stderr
    by_id = as_json(agency("work", "add", "1", "--minutes", "5", "--note", "x", "--json"))
    assert by_id["site_id"] == 1  # a number is a site's id
    nobody = agency("work", "add", "nobody", "--minutes", "5", "--note", "x", ok=False)
    assert nobody.exit_code == 2 and "no site or client" in nobody.stderr
    period = agency("work", "list", "--period", "2026-13", ok=False)
    assert period.exit_code == 2 and "invalid period" in period.stderr


def test_a_plans_included_hours_and_hourly_rate(run: Run) -> None:
    plan = as_json(
        run("plan", "add", "Care", "--hours-included", "2.5", "--hourly-rate", "90", "--json")
    )
    assert plan["options"]["hours_included"] == 2.5
    assert plan["options"]["hourly_rate"] == "90.00"
    assert plan["options"]["uptime_target"] is None
    changed = as_json(
        run("plan", "edit", "Care", "--hourly-rate", "95.5", "--uptime-target", "99.9", "--json")
    )
    assert changed["options"]["hourly_rate"] == "95.50"
    assert changed["options"]["hours_included"] == 2.5
    assert changed["options"]["uptime_target"] == 99.9
    bad = run("plan", "edit", "Care", "--hourly-rate", "-3", ok=False)
    assert bad.exit_code == 2 and "invalid price" in bad.stderr
    too_many = run("plan", "edit", "Care", "--hours-included", "1000", ok=False)
    assert too_many.exit_code == 2 and "hours" in too_many.stderr.lower()
