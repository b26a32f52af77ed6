"""The notifier registry: channel kind -> notifier; the outbox looks notifiers up here.

A channel is a URL, and its scheme is its kind: a notifier registered as
``x`` delivers every ``x://…`` channel; any scheme no notifier claims goes to
Apprise (the default kind), which understands e-mail, Slack, Teams, webhooks
and a hundred more. So a third-party notifier needs no new setting or column:
its users write its scheme in the alert URL.
"""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import urlsplit

from sitekeeper.egress.policy import EgressPolicy
from sitekeeper.errors import UsageError
from sitekeeper.notify.severity import Severity
from sitekeeper.plugins import Registry
from sitekeeper.store.clients import mask_url

DEFAULT_NOTIFIER = "apprise"
DEFAULT_TIMEOUT = 30.0  # seconds one send may take


class Notifier(Protocol):
    """Delivers one message to one channel URL of its kind."""

    async def send(
        self, url: str, *, title: str, body: str, severity: Severity = Severity.INFO
    ) -> None:
        """Deliver it, or raise ``DeliveryError`` with the reason (``permanent=True`` when
        retrying cannot help); the outbox records the outcome and retries."""
        ...


class NotifierPlugin(Protocol):
    """What a notifier registers (its class): a constructor the outbox calls once."""

    def __call__(self, *, egress: EgressPolicy, timeout: float) -> Notifier:
        """A notifier whose connections stay within ``egress``, each send within
        ``timeout`` seconds."""
        ...


NOTIFIERS: Registry[NotifierPlugin] = Registry(
    "notifier", builtins=["sitekeeper.notify.apprise_sender"]
)


def channel_kind(url: str) -> str:
    """The URL's scheme (``mailto``, ``slack``, ...): safe to log and journal."""
    return urlsplit(url).scheme.lower() or "unknown"


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def check_url(url: str) -> None:
    """UsageError unless the notifier of ``url``'s scheme takes it: checked when the URL is
    given, not at the first outage.

    A registered notifier validates its own URLs if its class offers
    ``check_url(url)`` (raising UsageError), else it takes any URL of its scheme;
    every other scheme must be one Apprise understands.
    """
    if not _URL.match(url):
        raise UsageError(f"invalid alert URL {mask_url(url)!r}: expected scheme://...")
    scheme = channel_kind(url)
    plugin = NOTIFIERS.find(scheme) if scheme != DEFAULT_NOTIFIER else None
    if plugin is not None:
        check = getattr(plugin, "check_url", None)
        if callable(check):
            check(url)
        return
    import apprise  # noqa: PLC0415 - slow import, only needed when URLs are given

    if not apprise.Apprise().add(url):
        raise UsageError(f"invalid alert URL {mask_url(url)!r}: not a URL Apprise supports")


class Notifiers:
    """Sends each message with the notifier of its channel's kind (one of each, made on
    first use); what the outbox and the admin page's test message send through."""

    def __init__(
        self, *, egress: EgressPolicy | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """``egress``: where channels may connect (default: public addresses only)."""
        self._egress = egress if egress is not None else EgressPolicy.public_only()
        self._timeout = timeout
        self._made: dict[str, Notifier] = {}

    def notifier(self, url: str) -> Notifier:
        """The notifier for ``url``: its scheme's, else the default (Apprise)."""
        scheme = channel_kind(url)
        kind = scheme if NOTIFIERS.find(scheme) is not None else DEFAULT_NOTIFIER
        made = self._made.get(kind)
        if made is None:
            made = NOTIFIERS.get(kind)(egress=self._egress, timeout=self._timeout)
            self._made[kind] = made
        return made

    async def send(
        self, url: str, *, title: str, body: str, severity: Severity = Severity.INFO
    ) -> None:
        """Deliver one message to one channel; DeliveryError if it was not delivered."""
        await self.notifier(url).send(url, title=title, body=body, severity=severity)
