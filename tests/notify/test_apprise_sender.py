"""The Apprise sender against real loopback servers: SMTP, a webhook, dead and hung ports."""

from __future__ import annotations

import logging
import time

import pytest

from sitekeeper.errors import DeliveryError
from sitekeeper.notify.apprise_sender import AppriseSender, redact
from sitekeeper.notify.registry import NOTIFIERS
from tests.notify.conftest import Mailbox, Webhook, loopback_sender


async def test_plain_smtp_on_loopback_gets_the_mail(smtp_server: Mailbox) -> None:
    sender = loopback_sender(timeout=10)
    await sender.send(smtp_server.url(), title="DOWN: shop", body="shop is down.\nDetail: 503")

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "DOWN: shop"
    assert smtp_server.envelopes[0] == ("alerts@agency.example", ["ops@agency.example"])
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "Detail: 503" in text.get_content()


async def test_webhook_gets_title_and_body_as_json(webhook: Webhook) -> None:
    await loopback_sender().send(webhook.url("abc"), title="DOWN: shop", body="it is down")

    assert webhook.paths == ["/hooks/abc"]
    assert webhook.posts[0]["title"] == "DOWN: shop"
    assert webhook.posts[0]["message"] == "it is down"


async def test_refused_connection_is_a_transient_error_with_the_reason(
    refused_port: int,
) -> None:
    url = f"mailto://127.0.0.1:{refused_port}?mode=insecure&from=a@agency.example&to=b@x.example"
    with pytest.raises(DeliveryError) as caught:
        await loopback_sender(timeout=5).send(url, title="t", body="b")

    assert not caught.value.permanent
    assert "Connection refused" in str(caught.value)


async def test_webhook_error_status_is_reported(webhook: Webhook) -> None:
    webhook.status = 503
    with pytest.raises(DeliveryError, match="503"):
        await loopback_sender().send(webhook.url(), title="t", body="b")


async def test_reason_does_not_leak_the_url_secrets(refused_port: int) -> None:
    url = f"json://hookuser:pa55word-xyz@127.0.0.1:{refused_port}/hooks/TOKEN-1234567"
    with pytest.raises(DeliveryError) as caught:
        await loopback_sender(timeout=5).send(url, title="t", body="b")

    reason = str(caught.value)
    assert "refused" in reason
    assert "127.0.0.1" in reason  # hosts stay, so the error is actionable
    for secret in ("TOKEN-1234567", "pa55word-xyz", "hookuser"):
        assert secret not in reason


@pytest.mark.parametrize("url", ["nosuchscheme://x", "mailto://", "json://"])
async def test_unusable_url_is_a_permanent_error(url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        await loopback_sender().send(url, title="t", body="b")
    assert caught.value.permanent


async def test_a_hung_server_hits_the_per_send_timeout(silent_port: int) -> None:
    url = f"mailto://127.0.0.1:{silent_port}?mode=insecure&from=a@agency.example&to=b@x.example"
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await loopback_sender(timeout=0.5).send(url, title="t", body="b")

    assert time.monotonic() - started < 5
    assert not caught.value.permanent


async def test_failure_reason_is_also_passed_to_the_apprise_logger(
    refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"json://127.0.0.1:{refused_port}/hooks/x"
    with caplog.at_level(logging.WARNING, logger="apprise"), pytest.raises(DeliveryError):
        await loopback_sender(timeout=5).send(url, title="t", body="b")
    assert any("Connection error" in r.getMessage() for r in caplog.records)


def test_apprise_is_the_registered_notifier() -> None:
    assert NOTIFIERS.get("apprise") is AppriseSender


@pytest.mark.parametrize(
    ("text", "url", "expected"),
    [
        (
            "failed for /hooks/abcdef1234",
            "json://h.example/hooks/abcdef1234",
            "failed for /***/***",
        ),
        ("bot 123456789:AAHsecret", "tgram://123456789:AAHsecret/42", "bot ***:***"),
        (
            "to 127.0.0.1 and mx.example.com",
            "mailto://u:pw@mx.example.com",
            "to 127.0.0.1 and mx.example.com",
        ),
    ],
)
def test_redact(text: str, url: str, expected: str) -> None:
    assert redact(text, url) == expected
