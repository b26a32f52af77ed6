"""Which open findings make a site "compromised": hack signs, not open doors."""

from __future__ import annotations

import pytest

from sitekeeper.domain.compromise import is_sign, severities_from


@pytest.mark.parametrize(
    ("kind", "severity", "sign"),
    [
        ("integrity", "critical", True),
        ("integrity", "high", True),
        ("integrity", "medium", False),  # a file newer than the last update: worth a look
        ("malware", "medium", True),  # a YARA match is code that should not be there
        ("malware", "low", False),
        ("seo", "HIGH", True),  # stored words come from outside the code
        ("seo", "medium", False),
        ("malware", None, False),  # no severity reads as info
        ("malware", "bogus", False),
        ("exposure", "critical", False),  # an exposed .git is an open door, not a break-in
        ("vulnerability", "critical", False),
    ],
)
def test_hack_signs(kind: str, severity: object, sign: bool) -> None:
    assert is_sign(kind, severity) is sign


def test_the_words_the_summary_counts() -> None:
    assert severities_from("integrity") == ("high", "critical")
    assert severities_from("malware") == ("medium", "high", "critical")
    assert severities_from("update") == ()
