"""client / plan / contract commands: happy paths, JSON shapes, user errors exit 2."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Run, as_json

CLIENT_KEYS = {
    "id", "name", "email", "language", "timezone", "alert_urls", "report_recipients", "notes",
    "sites", "created_at",
}  # fmt: skip
PLAN_KEYS = {
    "id", "name", "check_interval", "tls_warn_days", "domain_warn_days", "price", "currency",
    "options", "created_at",
}  # fmt: skip
CONTRACT_KEYS = {
    "id", "client_id", "client", "plan_id", "plan", "start", "end", "price_override", "price",
    "currency", "active", "site_count", "notes",
}  # fmt: skip


def test_client_add_show_list_round_trip_non_ascii(run: Run) -> None:
    secret = "tgram://123456789:AAsecretTOKEN/42424242"
    added = as_json(
        run("client", "add", "Bäckerei Müller", "--language", "de", "--alert-url", secret, "--json")
    )
    assert set(added) == CLIENT_KEYS
    assert added["name"] == "Bäckerei Müller"
    shown = as_json(run("client", "show", "Bäckerei Müller", "--json"))
    listed = as_json(run("client", "list", "--json"))
    assert shown == listed[0] == added
    assert shown["alert_urls"] == ["tgram://****4242"]
    for result in (run("client", "show", "1"), run("client", "list")):
        assert "AAsecretTOKEN" not in result.stdout
        assert "Bäckerei Müller" in result.stdout


def test_client_edit_and_remove(run: Run) -> None:
    run("client", "add", "Acme")
    edited = as_json(
        run("client", "edit", "Acme", "--name", "Acme AG", "--email", "a@acme.ch", "--json")
    )
    assert (edited["name"], edited["email"]) == ("Acme AG", "a@acme.ch")
    told = as_json(
        run("client", "edit", "Acme AG", "--report-to", "a@acme.ch", "--report-to", "b@acme.ch",
            "--json")
    )  # fmt: skip
    assert told["report_recipients"] == ["a@acme.ch", "b@acme.ch"]
    cleared = as_json(run("client", "edit", "Acme AG", "--clear-report-to", "--json"))
    assert cleared["report_recipients"] == []
    run("client", "remove", "Acme AG")
    assert as_json(run("client", "list", "--json")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["client", "add", "X", "--email", "not-an-email"], "invalid e-mail"),
        (["client", "add", "X", "--language", "Deutsch"], "invalid language"),
        (["client", "add", "X", "--report-to", "nobody"], "invalid e-mail"),
        (["client", "show", "nobody"], "no client 'nobody'"),
        (["plan", "add", "P", "--check-interval", "5s"], "too short"),
        (["plan", "add", "P", "--check-interval", "soon"], "invalid check interval"),
        (["plan", "add", "P", "--price", "-3"], "invalid price"),
        (["plan", "add", "P", "--update-policy", "yolo"], "update_policy"),
        (["contract", "add", "--client", "nobody", "--plan", "x"], "no client"),
        (["contract", "show", "99"], "no contract"),
    ],
)
def test_user_errors_are_one_line_exit_2(run: Run, args: list[str], message: str) -> None:
    result = run(*args, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_interval_stores_nothing(run: Run) -> None:
    run("plan", "add", "Fast", "--check-interval", "1s", ok=False)
    assert as_json(run("plan", "list", "--json")) == []


def test_click_usage_error_exits_2(run: Run) -> None:
    assert run("site", "add", ok=False).exit_code == 2
    assert run("plan", "add", "P", "--keep-daily", "many", ok=False).exit_code == 2


def test_plan_options_are_stored_and_shown(run: Run) -> None:
    plan = as_json(
        run(
            "plan", "add", "Pro", "--check-interval", "1m", "--price", "99.50", "--currency", "chf",
            "--backup", "daily", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12",
            "--update-policy", "security", "--report", "monthly", "--sla", "4h",
            "--restore-drill", "monthly", "--update-visual-threshold", "5 %", "--json",
        )
    )  # fmt: skip
    assert set(plan) == PLAN_KEYS
    assert (plan["check_interval"], plan["price"], plan["currency"]) == (60, "99.50", "CHF")
    assert plan["options"] == {
        "backup": "daily",
        "keep_daily": 7,
        "keep_weekly": 4,
        "keep_monthly": 12,
        "restore_drill": "monthly",
        "update_policy": "security",
        "update_window": None,
        "security_within_hours": 4,
        "client_approves_updates": False,
        "update_visual_threshold": 5.0,
        "report": "monthly",
        "sla_hours": 4.0,
        "uptime_target": None,
        "hours_included": 0.0,
        "hourly_rate": None,
        "forbidden_words": [],
        "content_change_percent": 60.0,
        "check_locations": 1,
    }
    edited = as_json(
        run("plan", "edit", "Pro", "--update-policy", "all", "--client-approves-updates", "--json")
    )
    assert edited["options"]["update_policy"] == "all"
    assert edited["options"]["client_approves_updates"] is True
    assert edited["options"]["backup"] == "daily"  # untouched options stay
    assert edited["options"]["update_visual_threshold"] == 5.0


def test_contract_show_lists_sites_and_effective_price(agency: Run) -> None:
    agency("site", "add", "https://example.com", "--client", "Bäckerei Müller")
    shown = as_json(agency("contract", "show", "1", "--json"))
    assert set(shown) == CONTRACT_KEYS | {"sites"}
    assert shown["price"] == "49.00"
    assert shown["active"] is True
    assert [s["name"] for s in shown["sites"]] == ["example.com"]
    repriced = as_json(agency("contract", "edit", "1", "--price", "59", "--json"))
    assert (repriced["price"], repriced["price_override"]) == ("59.00", "59.00")
    listed = as_json(agency("contract", "list", "--json"))
    assert listed[0]["site_count"] == 1
    assert "sites" not in listed[0]


def test_contract_end_before_start_is_refused(agency: Run) -> None:
    result = agency(
        "contract", "add", "--client", "1", "--plan", "1", "--start", "2026-05-01",
        "--end", "2026-04-01", ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "before its start" in result.stderr


def test_plan_in_use_cannot_be_removed(agency: Run) -> None:
    result = agency("plan", "remove", "Basic", ok=False)
    assert result.exit_code == 2
    assert "used by 1 contract" in result.stderr


def test_unsupported_alert_url_is_refused(run: Run) -> None:
    result = run("client", "add", "Acme", "--alert-url", "nosuchservice://token123456789", ok=False)
    assert result.exit_code == 2
    assert "not a URL Apprise supports" in result.stderr
    assert "token123456789" not in result.stderr  # secrets are masked even in errors
    assert as_json(run("client", "list", "--json")) == []
