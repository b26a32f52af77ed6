"""Plugin kinds in the forms: a plugin notifier's alert URLs and a plugin probe's check kind
are accepted where a user gives them, and validated by the plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sitekeeper.errors import UsageError
from sitekeeper.notify.registry import NOTIFIERS
from tests.cli.conftest import Run, as_json
from tests.plugins.echo import echo

__all__ = ["echo"]


class _Pager:
    """A test notifier (never sends): it takes ``pager://`` URLs with a number only."""

    @staticmethod
    def check_url(url: str) -> None:
        if not url.removeprefix("pager://").isdigit():
            raise UsageError("a pager URL is pager://NUMBER")


@pytest.fixture
def pager() -> Iterator[None]:
    NOTIFIERS.add("pager", _Pager)  # type: ignore[arg-type]  # never asked to send
    try:
        yield
    finally:
        NOTIFIERS.remove("pager")


@pytest.mark.usefixtures("pager")
def test_a_plugin_notifiers_alert_url_is_accepted_and_checked_by_it(run: Run) -> None:
    shown = as_json(run("client", "add", "Acme", "--alert-url", "pager://49555012345678", "--json"))
    assert shown["alert_urls"] == ["pager://****5678"]

    refused = run("client", "edit", "Acme", "--alert-url", "pager://call-me", ok=False)
    assert refused.exit_code == 2
    assert "pager://NUMBER" in refused.stderr
    # Other schemes are still Apprise's to judge.
    refused = run(
        "client", "edit", "Acme", "--alert-url", "nosuchservice://token123456789", ok=False
    )
    assert refused.exit_code == 2
    assert "Apprise" in refused.stderr


def test_without_the_plugin_its_scheme_is_refused(run: Run) -> None:
    result = run("client", "add", "Acme", "--alert-url", "pager://49555012345678", ok=False)
    assert result.exit_code == 2


@pytest.mark.usefixtures("echo")
def test_site_check_kind_is_chosen_and_validated_by_its_probe(agency: Run) -> None:
    add = ("site", "add", "https://a.example", "--client", "Bäckerei Müller")
    shown = as_json(agency(*add, "--probe", "echo", "--json"))
    assert shown["check"] == {"probe": "echo", "greeting": "hello"}

    # The kind's probe judges the options: an HTTP option is not an echo check's.
    refused = agency("site", "edit", "a.example", "--keyword", "Welcome", ok=False)
    assert refused.exit_code == 2
    assert "invalid echo check option keyword" in refused.stderr

    refused = agency(*add, "--name", "b", "--probe", "nosuch", "--allow-duplicate", ok=False)
    assert refused.exit_code == 2
    assert "unknown probe kind 'nosuch' (known: echo, http)" in refused.stderr

    # Back to HTTP: its own defaults, with the options given.
    back = as_json(
        agency("site", "edit", "a.example", "--probe", "http", "--keyword", "Hi", "--json")
    )
    assert "probe" not in back["check"]
    assert back["check"]["keyword"] == "Hi" and back["check"]["method"] == "GET"


@pytest.mark.usefixtures("echo")
def test_import_sets_the_check_kind(agency: Run, tmp_path: Path) -> None:
    sheet = tmp_path / "sites.csv"
    sheet.write_text(
        "url,client,probe\nhttps://a.example,Bäckerei Müller,echo\n"
        "https://b.example,Bäckerei Müller,\n",
        encoding="utf-8",
    )
    agency("site", "import", str(sheet))
    assert as_json(agency("site", "show", "a.example", "--json"))["check"] == {
        "probe": "echo",
        "greeting": "hello",
    }
    assert "probe" not in as_json(agency("site", "show", "b.example", "--json"))["check"]
    again = as_json(agency("site", "import", str(sheet), "--json"))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 2)
