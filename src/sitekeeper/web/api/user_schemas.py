"""JSON shapes of users, API tokens and password changes (stable: add fields, never rename).

Secrets appear in exactly two answers, once: a generated password (``UserCreated``)
and a new token (``TokenCreated``); the store keeps only their hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.store.users import MIN_PASSWORD
from sitekeeper.web.common import MAX_ID

Role = Literal["admin", "technician", "client"]
# An upper bound only against absurd bodies (argon2 would hash megabytes slowly).
MAX_PASSWORD = 1000


class UserOut(BaseModel):
    """Someone who logs in (``sitekeeper user list --json``, plus ``active`` and ids)."""

    id: int
    email: str
    role: str = Field(description="admin, technician or client")
    client_id: int | None = Field(description="The client a client user is bound to")
    client: str | None
    active: bool = Field(description="False: disabled, cannot log in and its tokens fail")
    created_at: datetime
    last_login_at: datetime | None


class UserCreated(UserOut):
    """A user just created or changed, with a generated password when one was asked for."""

    password: str | None = Field(
        default=None, description="The generated password: shown only in this answer"
    )
    tokens_revoked: int | None = Field(
        default=None, description="API tokens revoked by this password change"
    )


class UserIn(BaseModel):
    """A new user; omit ``password`` to have a random one generated (and returned once)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    role: Role = "technician"
    client_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="For client users")
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, repr=False
    )


class UserPatch(BaseModel):
    """Changes to a user; absent fields stay as they are.

    ``password`` sets a new one, ``reset_password`` generates one; either ends the
    user's sessions and revokes its API tokens, unless ``keep_tokens``.
    """

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    client_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    active: bool | None = Field(default=None, description="false disables the user")
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, repr=False
    )
    reset_password: bool = Field(default=False, description="Generate a new password")
    keep_tokens: bool = Field(
        default=False,
        description="With a new password: keep the user's API tokens (default: revoke them)",
    )


class TokenOut(BaseModel):
    """An API token, without its secret (only the prefix tells tokens apart)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    expires_at: datetime | None = Field(default=None, description="None: until revoked")


class TokenCreated(TokenOut):
    """A new token: ``token`` is shown only in this answer."""

    token: str = Field(description="Use as 'Authorization: Bearer <token>'")


class TokenIn(BaseModel):
    """A new token's name (what it is for)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days until the token stops working (none: never)"
    )


class PasswordIn(BaseModel):
    """One's own new password, with the current one."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=MAX_PASSWORD, repr=False)
    new_password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, repr=False)
    keep_tokens: bool = Field(
        default=False,
        description="Keep your other API tokens (default: revoke all but the one making "
        "this request)",
    )
