"""``sitekeeper client status-page``: a client's public page off by default, turned on (its
URL printed under the dashboard's public address from the branding), kept, rotated and off
again."""

from __future__ import annotations

from tests.cli.conftest import Run, as_json

BASE = "https://care.agency.example/"


def test_the_status_page_is_off_until_turned_on_and_prints_its_url(agency: Run) -> None:
    env = {"SITEKEEPER_WEB_PORT": "8080"}
    client = "Bäckerei Müller"
    agency("client", "status-page", client, "--on", env=env)
    default = agency("client", "status-page", client, env=env).stdout.strip()
    assert default.startswith("http://127.0.0.1:8080/status/")  # no public address set
    agency("client", "status-page", client, "--off")
    agency("branding", "set", "--public-url", BASE)
    shown = as_json(agency("client", "status-page", client, "--json", env=env))
    assert shown == {"client": client, "enabled": False, "url": None}
    assert "is off" in agency("client", "status-page", client, env=env).stderr

    on = agency("client", "status-page", client, "--on", env=env).stdout.strip()
    assert on.startswith("https://care.agency.example/status/") and len(on) > 60
    assert agency("client", "status-page", client, "--on", env=env).stdout.strip() == on
    assert as_json(agency("client", "status-page", client, "--json", env=env))["url"] == on

    rotated = agency("client", "status-page", client, "--rotate", env=env).stdout.strip()
    assert rotated != on and rotated.startswith(BASE + "status/")

    off = as_json(agency("client", "status-page", client, "--off", "--json", env=env))
    assert off == {"client": client, "enabled": False, "url": None}


def test_one_switch_at_a_time(agency: Run) -> None:
    wrong = agency("client", "status-page", "Bäckerei Müller", "--on", "--off", ok=False)
    assert wrong.exit_code != 0 and "one of --on, --off, --rotate" in wrong.stderr
