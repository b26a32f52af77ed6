"""JSON shapes of users, API tokens and password changes (stable: add fields, never rename).

Secrets appear in exactly two answers, once: a generated password (``UserCreated``)
and a new token (``TokenCreated``); the store keeps only their hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from sitekeeper.domain.fields import api_model
from sitekeeper.domain.users import MAX_PASSWORD, MIN_PASSWORD, UserFields


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


# Derived from the declaration (domain.users); mypy sees them as BaseModel, which is all
# the routes need (they pass ``model_dump()`` on to the store).
if TYPE_CHECKING:
    UserIn: TypeAlias = BaseModel
    UserPatch: TypeAlias = BaseModel
else:
    UserIn = api_model(
        UserFields,
        "UserIn",
        "A new user; omit ``password`` to have a random one generated (and returned once).",
        "in",
    )
    UserPatch = api_model(
        UserFields,
        "UserPatch",
        "Changes to a user; absent fields stay as they are.\n\n``password`` sets a new one, "
        "``reset_password`` generates one; either ends the\nuser's sessions and revokes its "
        "API tokens, unless ``keep_tokens``.",
        "patch",
        after={
            "reset_password": (
                bool,
                FieldInfo(default=False, description="Generate a new password"),
            ),
            "keep_tokens": (
                bool,
                FieldInfo(
                    default=False,
                    description="With a new password: keep the user's API tokens "
                    "(default: revoke them)",
                ),
            ),
        },
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
