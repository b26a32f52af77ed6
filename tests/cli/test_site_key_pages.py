"""site add/edit --key-page: the content checks' pages, validated (same host only, no
credentials, http(s), at most 10), kept through check option changes, cleared with
--no-key-pages."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Run, as_json

URL = "https://shop.example.com"


def test_key_pages_are_set_shown_kept_and_cleared(agency: Run) -> None:
    site = as_json(
        agency(
            "site", "add", URL, "--client", "1", "--key-page", "/shop",
            "--key-page", "https://shop.example.com/contact?lang=de", "--json",
        )
    )  # fmt: skip
    assert site["key_pages"] == ["/shop", "/contact?lang=de"]
    assert "key_pages" not in site["check"]  # the check's own options stay its own

    edited = as_json(agency("site", "edit", "1", "--keyword", "Brot", "--json"))
    assert edited["key_pages"] == ["/shop", "/contact?lang=de"]
    assert edited["check"]["keyword"] == "Brot"

    edited = as_json(agency("site", "edit", "1", "--key-page", "/cart", "--json"))
    assert edited["key_pages"] == ["/cart"]
    shown = agency("site", "show", "1").stdout.splitlines()
    assert [line for line in shown if line.startswith("key_pages:")] == ["key_pages: /cart"]

    cleared = as_json(agency("site", "edit", "1", "--no-key-pages", "--json"))
    assert cleared["key_pages"] == [] and cleared["check"]["keyword"] == "Brot"


@pytest.mark.parametrize(
    "page",
    [
        "https://evil.test/",
        "//evil.test/",
        "https://admin:secret@shop.example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "/\x1b[2Jwiped",
    ],
)
def test_hostile_key_pages_exit_2_and_change_nothing(agency: Run, page: str) -> None:
    agency("site", "add", URL, "--client", "1", "--key-page", "/shop")
    result = agency("site", "edit", "1", "--key-page", page, ok=False)
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert "\x1b" not in result.stderr
    assert as_json(agency("site", "show", "1", "--json"))["key_pages"] == ["/shop"]
    refused = agency("site", "add", URL + "/x", "--client", "1", "--key-page", page, ok=False)
    assert refused.exit_code == 2
    assert len(as_json(agency("site", "list", "--json"))) == 1


def test_more_than_ten_key_pages_exit_2(agency: Run) -> None:
    pages = [arg for n in range(11) for arg in ("--key-page", f"/p{n}")]
    result = agency("site", "add", URL, "--client", "1", *pages, ok=False)
    assert result.exit_code == 2 and "at most 10" in result.stderr
