"""ssh_keys: SSH private keys kept (encrypted) by sitekeeper, each owned by one client

Sites then refer to a key by id (``sites.ssh.key_id``) instead of a file path on
the sitekeeper host. Existing ``key_path`` entries are imported at start
(``store.ssh_keys.adopt_key_paths``): reading the key files needs the vault key,
which a migration does not have.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ssh_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ssh_keys_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssh_keys")),
        sa.UniqueConstraint("client_id", "name", name="uq_ssh_keys_client_name"),
        sa.UniqueConstraint("client_id", "fingerprint", name="uq_ssh_keys_client_fingerprint"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_ssh_keys_client_id"), "ssh_keys", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ssh_keys_client_id"), table_name="ssh_keys")
    op.drop_table("ssh_keys")
