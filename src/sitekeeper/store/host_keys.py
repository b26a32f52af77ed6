"""Pinned SSH host keys (``ssh_host_keys``): one key, or only its fingerprint, per host:port.

The rules of pinning (trust on first use, a changed key stops the job) are in
``remote.hostkeys``; here are its reads and writes. Hosts are stored lower-case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sitekeeper.store.tables import SshHostKey


def pin_row(session: Session, host: str, port: int) -> SshHostKey | None:
    """The pin of host:port, if any."""
    return session.get(SshHostKey, (host.lower(), port))


def pin_presented(
    session: Session, host: str, port: int, public_key: str, *, fingerprint: str, now: datetime
) -> SshHostKey:
    """The pin in force once ``public_key`` was presented: a pin already there is kept,
    one holding only this key's fingerprint is completed with the key, and with none
    the key is pinned. IntegrityError when another worker pinned it at the same moment
    (its pin holds: read it again).
    """
    row = pin_row(session, host, port)
    if row is None:
        row = SshHostKey(
            host=host.lower(),
            port=port,
            public_key=public_key,
            fingerprint=fingerprint,
            first_seen=now,
        )
        session.add(row)
        session.flush()
    elif not row.public_key and row.fingerprint == fingerprint:
        row.public_key = public_key
    return row


def pin_fingerprint(
    session: Session, host: str, port: int, fingerprint: str, *, now: datetime
) -> SshHostKey:
    """Pin only a fingerprint (the key follows on first connection); a pin there is kept.
    IntegrityError as for :func:`pin_presented`."""
    row = pin_row(session, host, port)
    if row is None:
        row = SshHostKey(
            host=host.lower(), port=port, public_key="", fingerprint=fingerprint, first_seen=now
        )
        session.add(row)
        session.flush()
    return row


def forget_pin(session: Session, host: str, port: int) -> bool:
    """Drop the pin of host:port; False if there was none."""
    row = pin_row(session, host, port)
    if row is None:
        return False
    session.delete(row)
    return True
