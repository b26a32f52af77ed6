"""Encryption of secrets at rest (SSH keys, passwords, tokens, alert URLs).

One Fernet key per installation: ``SITEKEEPER_SECRET_KEY`` (or ``_FILE``), else
``secret.key`` in the data directory, created on first use with mode 0600.
Losing the key loses the secrets, so back up the data directory as a whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from sitekeeper import datadir
from sitekeeper.errors import ConfigError

_PREFIX = "enc:v1:"


class Vault:
    """Encrypts and decrypts short secrets with the installation key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                "the secret key is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc

    @classmethod
    def from_home(cls, home: Path, key: str | None = None) -> Vault:
        """The vault for a data directory, creating its key file if needed."""
        if key:
            return cls(key.encode())
        path = home / "secret.key"
        if not path.exists():
            if not home.exists():
                datadir.make_private(home)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext with a version prefix, safe to store in a text column."""
        return _PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The plaintext of :meth:`encrypt`'s output; ConfigError if the key is wrong."""
        if not stored.startswith(_PREFIX):
            raise ConfigError("stored secret is not encrypted by sitekeeper")
        try:
            return self._fernet.decrypt(stored[len(_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise ConfigError(
                "cannot decrypt a stored secret: the secret key changed or is wrong"
            ) from exc
