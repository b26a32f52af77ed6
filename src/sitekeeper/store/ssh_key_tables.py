"""The ``ssh_keys`` table: SSH private keys kept by sitekeeper, each owned by one client.

Kept out of ``tables.py`` so the feature is one slice (``store.ssh_keys`` is its only user).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class SshKey(Base):
    """A client's SSH private key, encrypted with the installation's vault key.

    A site refers to one by id (``SshAccess.key_id``) and may only use its own
    client's keys, so one client's technician never reaches another's servers.
    """

    __tablename__ = "ssh_keys"
    __table_args__ = (
        UniqueConstraint("client_id", "name", name="uq_ssh_keys_client_name"),
        UniqueConstraint("client_id", "fingerprint", name="uq_ssh_keys_client_fingerprint"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    algorithm: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[str] = mapped_column(Text)  # "type base64", for authorized_keys
    fingerprint: Mapped[str] = mapped_column(String(128))  # "SHA256:…"
    secret: Mapped[str] = mapped_column(Text)  # the private key, OpenSSH format, vault-encrypted
    created_at: Mapped[datetime]
