"""Send one alert to one Apprise URL, with a deadline and the failure reason.

Apprise reports only success or failure; the reason is in its log. Each send
runs in its own worker thread and gives the plugin a private logger, so the
reason of *this* send is captured even when many sends run at once, without
raising the global ``apprise`` logger's level. Captured records are passed on
to the ``apprise`` logger at whatever level the operator configured.

Example URLs (both verified against loopback servers in the tests)::

    mailto://127.0.0.1:2525?mode=insecure&from=alerts@agency.example&to=ops@agency.example
    json://127.0.0.1:8080/hooks/alerts

``mailto://HOST:PORT`` with ``mode=insecure`` talks plain SMTP (no TLS) to
HOST:PORT and logs in only if the URL has ``user:password@``; ``smtp=`` names
a different SMTP host than the URL's host. ``json://`` POSTs
``{"version", "title", "message", "type", ...}`` over HTTP (``jsons://`` for
HTTPS); ``+Header=value`` query items add HTTP headers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading

import apprise

from sitekeeper.egress.blocking import confined
from sitekeeper.egress.policy import EgressPolicy
from sitekeeper.errors import DeliveryError
from sitekeeper.notify.registry import DEFAULT_NOTIFIER, DEFAULT_TIMEOUT, NOTIFIERS
from sitekeeper.notify.severity import Severity

_APPRISE_LOGGER = logging.getLogger("apprise")
_REASON_MAX = 1000
# Tokens of a URL that may be secret: split on URL punctuation, keep long parts.
_URL_PARTS = re.compile(r"[/:@?&=#,;+%]+")
_PUBLIC_PART = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[a-z0-9-]+(?:\.[a-z0-9-]+)+)$", re.I)


def redact(text: str, url: str) -> str:
    """``text`` with every possibly secret part of ``url`` replaced by ``***``.

    Plugins log their target (webhook paths, bot tokens) in error messages;
    those messages end up in the database and the journal. Host names and IP
    addresses are kept because they make an error actionable.
    """
    secrets = {
        part
        for part in _URL_PARTS.split(url.split("://", 1)[-1])
        if len(part) >= 4 and not _PUBLIC_PART.match(part)
    }
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class _ThreadCapture(logging.Handler):
    """Collects the records logged by one thread (the one doing the send)."""

    def __init__(self, thread_id: int, level: int) -> None:
        super().__init__(level)
        self.thread_id = thread_id
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.records.append(record)


def _reason(records: list[logging.LogRecord], url: str) -> str:
    """A short, redacted reason: warnings and errors, then the exception detail."""
    lines = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    lines += [
        r.getMessage()
        for r in records
        if r.levelno < logging.WARNING and "exception" in r.getMessage().lower()
    ]
    text = " | ".join(" ".join(line.split()) for line in lines) or "apprise reported a failure"
    return redact(text, url)[:_REASON_MAX]


def _send_blocking(
    url: str,
    title: str,
    body: str,
    timeout: float,
    egress: EgressPolicy,
    *,
    severity: Severity = Severity.INFO,
) -> None:
    """One synchronous send in the calling (worker) thread; DeliveryError on failure.

    The plugin's connections are confined to what ``egress`` allows (checked on the
    addresses it connects to); a refusal is the whole reason, and permanent.
    """
    capture = _ThreadCapture(threading.get_ident(), logging.DEBUG)
    _APPRISE_LOGGER.addHandler(capture)
    # A logger of our own (not in the global registry), verbose for this send only.
    private = logging.Logger("apprise.send", logging.DEBUG)
    private.propagate = False
    private.addHandler(capture)
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if plugin is None:
            raise DeliveryError(
                "not a valid Apprise URL: " + _reason(capture.records, url), permanent=True
            )
        plugin.logger = private
        # Socket deadlines so the worker thread ends soon after an async timeout.
        plugin.socket_connect_timeout = min(float(plugin.socket_connect_timeout), timeout)
        plugin.socket_read_timeout = min(float(plugin.socket_read_timeout), timeout)
        with confined(egress) as confinement:
            ok = plugin.notify(
                body=body,
                title=title,
                body_format=apprise.NotifyFormat.TEXT,
                notify_type=apprise.NotifyType(str(severity)),  # receivers colour or route by it
            )
        if not ok and confinement.refused:
            raise DeliveryError(confinement.refused[0], permanent=True)
        if not ok:
            raise DeliveryError(_reason(capture.records, url))
    finally:
        _APPRISE_LOGGER.removeHandler(capture)
        for record in capture.records:
            if record.name != _APPRISE_LOGGER.name and _APPRISE_LOGGER.isEnabledFor(record.levelno):
                _APPRISE_LOGGER.handle(record)


@NOTIFIERS.register(DEFAULT_NOTIFIER)
class AppriseSender:
    """The notifier for every Apprise URL (e-mail, Slack, Teams, Telegram, webhooks, ...)."""

    def __init__(
        self, *, egress: EgressPolicy | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """``egress``: where alert URLs may connect (default: public addresses only);
        ``timeout``: seconds one send may take before it counts as failed."""
        if not 0 < timeout <= 300:
            raise ValueError(f"a send timeout must be in (0, 300] seconds, not {timeout}")
        self.timeout = timeout
        self.egress = egress if egress is not None else EgressPolicy.public_only()

    async def send(
        self, url: str, *, title: str, body: str, severity: Severity = Severity.INFO
    ) -> None:
        """Deliver one message to one URL; DeliveryError (with the reason) if not delivered."""
        timeout = self.timeout
        try:
            await asyncio.wait_for(
                asyncio.to_thread(
                    _send_blocking, url, title, body, timeout, self.egress, severity=severity
                ),
                timeout,
            )
        except TimeoutError:
            raise DeliveryError(f"no answer within {timeout:g}s") from None
