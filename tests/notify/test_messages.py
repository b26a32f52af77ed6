"""Alert texts: every kind says what happened, where, and since when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sitekeeper.notify import messages
from sitekeeper.notify.messages import AlertKind, Message

T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def test_site_down() -> None:
    msg = messages.site_down(
        site="Shop",
        url="https://shop.example",
        category="timeout",
        detail="no answer within 10s",
        since=T0,
        client="Bakery Ltd",
    )
    assert msg.kind is AlertKind.SITE_DOWN
    assert msg.title == "DOWN: Shop"
    for part in (
        "https://shop.example",
        "timeout",
        "no answer within 10s",
        "2026-11-26 07:00 UTC",
        "Client: Bakery Ltd",
    ):
        assert part in msg.body


def test_recovered_says_how_long_it_was_down() -> None:
    msg = messages.site_recovered(
        site="Shop",
        url="https://shop.example",
        down_since=T0,
        recovered_at=T0 + timedelta(seconds=754),
    )
    assert msg.title == "RECOVERED: Shop"
    assert "down for 12m34s" in msg.body
    assert "Client:" not in msg.body


def test_certificate_expiring() -> None:
    msg = messages.certificate_expiring(
        site="Shop",
        url="https://shop.example",
        expires=T0 + timedelta(days=9),
        days_left=9,
        issuer="R11, Let's Encrypt",
    )
    assert msg.title == "Certificate expires in 9 days: Shop"
    assert "2026-12-05 07:00 UTC" in msg.body
    assert "Issuer: R11, Let's Encrypt" in msg.body


def test_certificate_invalid() -> None:
    msg = messages.certificate_invalid(
        site="Shop", url="https://shop.example", reason="hostname mismatch"
    )
    assert msg.title == "Certificate invalid: Shop"
    assert "Reason: hostname mismatch" in msg.body


def test_times_are_shown_in_utc() -> None:
    local = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Vienna"))
    msg = messages.site_down(site="s", url="u", category="dns", detail=None, since=local)
    assert "2026-11-26 08:00 UTC" in msg.body
    assert "Detail: -" in msg.body


def test_hostile_values_stay_on_one_bounded_line() -> None:
    msg = messages.site_down(
        site="evil\r\nBcc: victim@example.com",
        url="https://x.example",
        category="http_status",
        detail="x" * 10_000 + "{since}",
        since=T0,
    )
    assert "\n" not in msg.title
    assert "\r" not in msg.title
    assert len(msg.title) <= messages.TITLE_MAX
    assert max(len(line) for line in msg.body.splitlines()) < 600


@pytest.mark.parametrize("language", ["en", "fr_FR", "pt-BR", ""])
def test_unknown_languages_fall_back_to_english(language: str) -> None:
    msg = messages.certificate_invalid(site="s", url="u", reason="r", language=language)
    assert msg == Message(AlertKind.CERT_INVALID, "Certificate invalid: s", msg.body)
    assert msg.body.startswith("The TLS certificate of s (u) is not valid.")


@pytest.mark.parametrize("language", ["de", "de-AT", "de_CH.UTF-8"])
def test_german_and_its_regional_variants_get_the_german_texts(language: str) -> None:
    msg = messages.certificate_expiring(
        site="Shop", url="https://shop.example", expires=T0, days_left=9, issuer=None,
        client="Bäckerei", language=language,
    )  # fmt: skip
    assert msg.title == "Zertifikat läuft in 9 Tagen ab: Shop"
    assert "läuft am 26.11.2026 07:00 UTC ab (noch 9 Tage)" in msg.body
    assert "Aussteller: unbekannt" in msg.body
    assert "Kunde: Bäckerei" in msg.body


def test_hostile_values_are_not_read_as_templates_in_german() -> None:
    msg = messages.site_down(
        site="{site}{url}", url="u", category="c", detail="{since}", since=T0, language="de"
    )
    assert msg.title == "AUSGEFALLEN: {site}{url}"
    assert "Details: {since}" in msg.body
