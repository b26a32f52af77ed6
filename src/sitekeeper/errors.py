"""The one exception tree of sitekeeper.

Every error says what went wrong in words a user can act on, and whether it is
*permanent* (retrying the same thing will fail again) so that one loop — the
engine's runner, the notification outbox — decides about retries.

    SitekeeperError
    ├── ConfigError          invalid settings; start-up stops (permanent)
    ├── UsageError           bad user input: malformed URL, bad CSV, bad interval (permanent)
    │   └── NotFound         no client/plan/site/... by that id, name or URL (permanent)
    ├── StoreError           the database refused or is unreachable (transient)
    ├── RemoteError          SSH to a site failed (transient)
    │   ├── HostKeyChanged   a pinned SSH host key changed; the job stops (permanent)
    │   └── InventoryRefused a site's tree exceeds an inventory's deadline or budget (permanent)
    ├── FeedError            a vendor feed or advisory could not be fetched (transient)
    │   └── InvalidFeed      malformed or hostile feed content, rejected (permanent)
    └── DeliveryError        a notification could not be sent (transient)

A monitored site being down is *not* an exception: probes return results with
a stable error category (see ``domain.checks.ErrorCategory``).
"""

from __future__ import annotations


class SitekeeperError(Exception):
    """Base of all errors sitekeeper raises on purpose."""

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent


class ConfigError(SitekeeperError):
    """The configuration is invalid; fix the setting named in the message."""


class UsageError(SitekeeperError):
    """The user's input is invalid; nothing was changed."""


class NotFound(UsageError):
    """The named object does not exist."""


class StoreError(SitekeeperError):
    """The database failed; usually transient (locked, connection lost)."""

    permanent = False


class RemoteError(SitekeeperError):
    """A remote operation over SSH failed."""

    permanent = False


class HostKeyChanged(RemoteError):
    """The site's SSH host key differs from the pinned one: possible interception."""

    permanent = True


class NoCms(RemoteError):
    """No CMS sitekeeper knows is installed in the docroot: a static site, or a wrong path.

    A backup then takes the files alone; an inventory has nothing to read. A state
    of the site, not a failure: said once until it changes.
    """

    permanent = True


class InventoryRefused(RemoteError):
    """A site's inventory went past its deadline or byte budget and was stopped.

    A hacked site can make its tree as large or slow as it likes; the inventory
    stops rather than let one site grow the process that monitors every client.
    """

    permanent = True


class FeedError(SitekeeperError):
    """A release feed or advisory source could not be read."""

    permanent = False


class InvalidFeed(FeedError):
    """A feed, manifest or advisory is malformed or hostile and was rejected."""

    permanent = True


class DeliveryError(SitekeeperError):
    """A notification was not delivered; it stays queued for retry."""

    permanent = False
