"""Tables of the web dashboard: users, browser sessions, API tokens, login throttling, settings.

Kept apart from ``tables.py`` so the dashboard can evolve without touching the
monitoring schema; they share ``Base`` so Alembic and ``metadata`` see them.
Secrets (session ids, API tokens) are stored as SHA-256 hashes only: they are
long random strings, so a leaked database does not give a working login.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sitekeeper.store.tables import Base, Client


class User(Base):
    """Someone who logs in: an admin, a technician, or a client's contact (bound to it)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | technician | client
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    client: Mapped[Client | None] = relationship(lazy="joined")


class WebSession(Base):
    """A logged-in browser; the cookie holds the random id, the row its hash."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token for scripts, acting with its user's role."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell tokens apart
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]  # written at most once a minute
    expires_at: Mapped[datetime | None]  # None: until revoked


class LoginThrottle(Base):
    """Failed logins per key (``account:EMAIL``, ``ip:ADDR``), stored to survive restarts."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class AppSetting(Base):
    """Installation-wide settings edited in the UI (e.g. global alert URLs, encrypted)."""

    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
