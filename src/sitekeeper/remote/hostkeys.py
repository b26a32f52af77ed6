"""SSH host-key pinning: pinned ahead or trusted on first use, then a changed key stops the job.

The first successful connection to ``host:port`` records the server's key in
``ssh_host_keys``; every later connection must present that same key. A
different key may mean the server was reinstalled -- or that someone sits in
the middle -- so it raises :class:`HostKeyChanged` (permanent) before any
command runs, and an operator decides (:meth:`StoreHostKeyPins.forget`).

An operator may pin before the first connection (``site trust-host-key``):
from a known_hosts file (the key itself), or from a ``SHA256:`` fingerprint
alone -- then the first connection is accepted only if the server's key has
that fingerprint, and the pin is completed with the key it presented.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import asyncssh
from asyncssh.public_key import get_default_public_key_algs
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sitekeeper.errors import HostKeyChanged, RemoteError
from sitekeeper.store import host_keys
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.tables import SshHostKey

# Preference when a known_hosts file lists several keys for one host: the
# table pins one key per host:port, and the client then asks for that type.
# asyncssh's default list starts with RSA; on first use we would rather pin a modern key.
_FIRST_USE_ALGS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
_ALGORITHM_PREFERENCE = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ssh-rsa")
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


@dataclass(frozen=True)
class PinnedKey:
    """A host key recorded for ``host:port``."""

    host: str
    port: int
    public_key: str  # OpenSSH "type base64", no comment; "" while only the fingerprint is known
    fingerprint: str  # "SHA256:..." as ssh-keygen -l prints it
    first_seen: datetime

    def matches(self, public_key: str) -> bool:
        """Whether ``public_key`` is the pinned key (or has the pinned fingerprint)."""
        if self.public_key:
            return public_key == self.public_key
        return fingerprint(public_key) == self.fingerprint


class HostKeyPins(Protocol):
    """Where pins live; the store implements it, the SSH layer only needs these two."""

    async def pinned(self, host: str, port: int) -> PinnedKey | None:
        """The pinned key for host:port, if any."""

    async def pin_presented(self, host: str, port: int, public_key: str) -> PinnedKey:
        """Record a presented key unless one is pinned already; returns the pin that holds."""


def openssh_key(key: asyncssh.SSHKey) -> str:
    """A public key as ``type base64`` (comments dropped so equal keys compare equal)."""
    text = key.export_public_key("openssh").decode("ascii")
    return " ".join(text.split()[:2])


def fingerprint(public_key: str) -> str:
    """The SHA256 fingerprint of an OpenSSH public key line."""
    return str(asyncssh.import_public_key(public_key).get_fingerprint("sha256"))


def parse_fingerprint(text: str) -> str:
    """A ``SHA256:…`` fingerprint as ``ssh-keygen -l`` prints it; RemoteError otherwise."""
    value = text.strip().rstrip("=")
    if not _FINGERPRINT.fullmatch(value):
        raise RemoteError(
            f"not an SSH host key fingerprint: {text!r} (expected SHA256:… as "
            "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it)",
            permanent=True,
        )
    return value


class StoreHostKeyPins:
    """Pins in the ``ssh_host_keys`` table (SQLite or PostgreSQL).

    Async code (an SSH connection) reads and pins through the database thread's
    aside lane; the operator's commands (trust, forget, import) are synchronous.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._thread = DbThread(db)

    def get(self, host: str, port: int) -> PinnedKey | None:
        """The pinned key for host:port, if any."""
        with self._db.session() as session:
            return _pin_of(session, host, port)

    async def pinned(self, host: str, port: int) -> PinnedKey | None:
        """:meth:`get`, off the event loop."""
        return await self._thread.session_aside(_pin_of, host, port)

    def pin(self, host: str, port: int, public_key: str) -> PinnedKey:
        """Insert the pin; if another worker pinned first, its pin wins (and is returned).

        A pin that so far holds only a fingerprint is completed with ``public_key``
        when the key has that fingerprint.
        """
        key = " ".join(public_key.split()[:2])
        try:
            with self._db.session() as session:
                return _pinned_now(session, host, port, key)
        except IntegrityError:  # another worker's pin holds
            return _must(self.get(host, port), host, port)

    async def pin_presented(self, host: str, port: int, public_key: str) -> PinnedKey:
        """:meth:`pin`, off the event loop."""
        key = " ".join(public_key.split()[:2])
        try:
            return await self._thread.session_aside(_pinned_now, host, port, key)
        except IntegrityError:  # another worker's pin holds
            return _must(await self.pinned(host, port), host, port)

    def pin_fingerprint(self, host: str, port: int, expected: str) -> PinnedKey:
        """Pin only a fingerprint (before the first connection); an existing pin is kept."""
        value = parse_fingerprint(expected)
        try:
            with self._db.session() as session:
                now = datetime.now(UTC)
                return _to_pin(host_keys.pin_fingerprint(session, host, port, value, now=now))
        except IntegrityError:  # another worker's pin holds
            return _must(self.get(host, port), host, port)

    def trust(
        self, host: str, port: int, *, public_key: str | None = None, expected: str | None = None
    ) -> PinnedKey:
        """Pin a key (or only its fingerprint) an operator verified; refused if another is pinned.

        Replacing a pin is two deliberate steps (forget, then trust), never a side effect.
        """
        wanted = fingerprint(public_key) if public_key else parse_fingerprint(expected or "")
        current = self.get(host, port)
        if current is not None and current.fingerprint != wanted:
            raise RemoteError(
                f"{host}:{port} already has a pinned host key, {current.fingerprint} (since "
                f"{current.first_seen:%Y-%m-%d}); if the server was reinstalled, verify its new "
                "key out of band, forget the old pin, then trust the new one",
                permanent=True,
            )
        if public_key:
            return self.pin(host, port, public_key)  # also completes a fingerprint-only pin
        return current or self.pin_fingerprint(host, port, wanted)

    def forget(self, host: str, port: int) -> bool:
        """Drop a pin after an operator verified a legitimate key change."""
        with self._db.session() as session:
            return host_keys.forget_pin(session, host, port)

    def import_known_hosts(self, path: Path, host: str, port: int = 22) -> PinnedKey | None:
        """Pre-pin host:port from an OpenSSH known_hosts file (hashed entries work too).

        Returns the pin now in force (an existing pin is kept), or None when the
        file has no key for that host.
        """
        key = known_hosts_key(path, host, port)
        return self.pin(host, port, key) if key is not None else None


def known_hosts_key(path: Path, host: str, port: int = 22) -> str | None:
    """The key an OpenSSH known_hosts file lists for host:port (a modern type preferred)."""
    try:
        known = asyncssh.read_known_hosts(str(path))
    except (OSError, ValueError) as exc:
        raise RemoteError(f"cannot read known_hosts file {path}: {exc}", permanent=True) from exc
    addr = host if _is_ip(host) else ""
    # asyncssh falls back to the port-less entry when host:port has none.
    keys = known.match(host, addr, None if port == 22 else port)[0]
    if not keys:
        return None
    return openssh_key(min(keys, key=_preference))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _preference(key: asyncssh.SSHKey) -> int:
    name = key.get_algorithm()
    if name in _ALGORITHM_PREFERENCE:
        return _ALGORITHM_PREFERENCE.index(name)
    return len(_ALGORITHM_PREFERENCE)


def _pin_of(session: Session, host: str, port: int) -> PinnedKey | None:
    row = host_keys.pin_row(session, host, port)
    return _to_pin(row) if row is not None else None


def _pinned_now(session: Session, host: str, port: int, key: str) -> PinnedKey:
    now = datetime.now(UTC)
    return _to_pin(
        host_keys.pin_presented(session, host, port, key, fingerprint=fingerprint(key), now=now)
    )


def _must(pinned: PinnedKey | None, host: str, port: int) -> PinnedKey:
    if pinned is None:  # pragma: no cover - the insert or the other writer's row exists
        raise RemoteError(f"could not pin the host key of {host}:{port}")
    return pinned


def _to_pin(row: SshHostKey) -> PinnedKey:
    return PinnedKey(
        host=row.host,
        port=row.port,
        public_key=row.public_key,
        fingerprint=row.fingerprint,
        first_seen=row.first_seen,
    )


@dataclass
class HostKeyCheck:
    """One connection attempt's view of the pin: feeds asyncssh, then pins or refuses.

    asyncssh asks the client's ``validate_host_public_key`` about the key the
    server presents: with a pin the answer is "only if it is the pinned key"
    (what was offered is kept for the error message), without a pin it is
    "yes", and :meth:`confirm` records the key once the handshake proved the
    server holds the private half.
    """

    host: str
    port: int
    pins: HostKeyPins
    pinned: PinnedKey | None = None
    offered: str | None = field(default=None, init=False)

    @classmethod
    async def load(cls, pins: HostKeyPins, host: str, port: int) -> HostKeyCheck:
        """Read the current pin."""
        pinned = await pins.pinned(host, port)
        return cls(host=host, port=port, pins=pins, pinned=pinned)

    def known_hosts(self) -> tuple[list[asyncssh.SSHKey], ...]:
        """No keys trusted up front, so asyncssh asks :meth:`validate` about every key."""
        return [], [], []

    def host_key_algs(self) -> list[str]:
        """Plain key types only, the pinned type first so the server presents that key.

        Certificates are left out (there is no CA to check them against), and
        the server is not limited to the pinned type: if it no longer has such
        a key it presents another one, which :meth:`validate` then refuses
        with a fingerprint to show, instead of an anonymous failed handshake.
        """
        preferred = list(_FIRST_USE_ALGS)
        if self.pinned is not None and self.pinned.public_key:
            pinned = asyncssh.import_public_key(self.pinned.public_key).sig_algorithms
            preferred = [alg.decode("ascii") for alg in pinned]
        defaults = [alg.decode("ascii") for alg in get_default_public_key_algs()]
        return list(dict.fromkeys(preferred + defaults))

    def client_factory(self) -> asyncssh.SSHClient:
        """An asyncssh client whose host-key callback reports to this check."""
        return _PinningClient(self)

    def validate(self, key: asyncssh.SSHKey) -> bool:
        """asyncssh's question for the presented key: trusted on first use, else the pin."""
        self.offered = openssh_key(key)
        return self.pinned is None or self.pinned.matches(self.offered)

    async def confirm(self, conn: asyncssh.SSHClientConnection) -> PinnedKey:
        """After the handshake: pin on first use, and re-check against a racing pin."""
        server_key = conn.get_server_host_key()
        if server_key is None:  # pragma: no cover - asyncssh always has one after kex
            raise RemoteError(f"{self.host}:{self.port} presented no host key")
        presented = openssh_key(server_key)
        if self.pinned is not None and self.pinned.public_key and self.pinned.matches(presented):
            return self.pinned
        pinned = await self.pins.pin_presented(self.host, self.port, presented)
        if pinned.public_key != presented:
            self.pinned, self.offered = pinned, presented
            raise self.changed()
        return pinned

    def changed(self) -> HostKeyChanged:
        """The error for a key that is not the pinned one, with both fingerprints."""
        assert self.pinned is not None
        if self.offered is not None:
            got = f"it now presents {fingerprint(self.offered)}"
        else:
            got = "it offers no key of the pinned type"
        return HostKeyChanged(
            f"SSH host key of {self.host}:{self.port} changed: pinned "
            f"{self.pinned.fingerprint} (since {self.pinned.first_seen:%Y-%m-%d}), {got}. "
            "Nothing was run. If the server was legitimately reinstalled, verify the new "
            "fingerprint out of band and forget the old pin."
        )


class _PinningClient(asyncssh.SSHClient):
    def __init__(self, check: HostKeyCheck) -> None:
        self._check = check

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        return self._check.validate(key)
