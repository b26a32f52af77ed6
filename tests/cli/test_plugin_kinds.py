"""Plugin kinds in the forms: a plugin notifier's alert URLs and a plugin probe's check kind
are accepted where a user gives them, and validated by the plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sitekeeper.errors import UsageError
from sitekeeper.notify.registry import NOTIFIERS
from tests.cli.conftest import Run, as_json


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
