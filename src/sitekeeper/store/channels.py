"""Where alerts go: global channels (environment and web UI) plus the client's own.

Alert URLs carry tokens and passwords, so those stored in the database are
encrypted with the vault; this is the one place that decrypts them for sending.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from sitekeeper.errors import ConfigError
from sitekeeper.store.users import get_setting, put_setting
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)

ALERTS_KEY = "alert_urls"


def ui_alert_urls(session: Session, vault: Vault) -> list[str]:
    """The global alert URLs set in the web UI, decrypted."""
    return _decrypt(vault, get_setting(session, ALERTS_KEY).get("urls", []), "global settings")


def set_ui_alert_urls(session: Session, vault: Vault, urls: Sequence[str]) -> None:
    """Replace the global alert URLs kept in the database (stored encrypted)."""
    put_setting(session, ALERTS_KEY, {"urls": [vault.encrypt(u) for u in urls]})


def channel_urls(
    session: Session,
    vault: Vault,
    env_urls: Sequence[str],
    client_stored: Sequence[str],
    client_name: str | None,
) -> list[str]:
    """Every URL an alert about this client's site goes to, without duplicates."""
    urls = [*env_urls, *ui_alert_urls(session, vault)]
    urls += _decrypt(vault, client_stored, f"client {client_name}")
    return list(dict.fromkeys(urls))


def has_channels(session: Session, env_urls: Sequence[str], client_stored: Sequence[str]) -> bool:
    """Whether an alert about this client's site goes anywhere (nothing is decrypted)."""
    return bool(env_urls or client_stored or get_setting(session, ALERTS_KEY).get("urls"))


def _decrypt(vault: Vault, stored: Sequence[str], owner: str) -> list[str]:
    plain = []
    for value in stored:
        try:
            plain.append(vault.decrypt(value))
        except ConfigError:
            # Sending to the other channels beats sending to none; the operator is told.
            log.error("%s: an alert URL cannot be decrypted (secret key changed?)", owner)
    return plain
