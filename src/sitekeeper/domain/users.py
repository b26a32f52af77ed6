"""A user's fields: the one place a user field is declared (store, API, CLI, the users form).

Passwords are never stored or shown: the store keeps a hash, the CLI reads one from a
file or a prompt (not an option), and the form never draws it back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.fields import MAX_ID, Spec

ROLES = ("admin", "technician", "client")
Role = Literal["admin", "technician", "client"]
MIN_PASSWORD = 10
MAX_PASSWORD = 1000  # only against absurd bodies (argon2 would hash megabytes slowly)


class UserFields(BaseModel):
    """Someone who logs in: staff (admin, technician) or a client's portal user."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[
        str,
        Field(max_length=320),
        Spec("E-mail", arg_help="The login (an e-mail address).", input="email", editable=False),
    ]
    role: Annotated[Role, Spec("Role", "admin, technician or client.")] = "technician"
    client_id: Annotated[
        int | None,
        Field(ge=1, le=MAX_ID, description="For client users"),
        Spec(
            "Client",
            "Client id or name (client users).",
            option="--client",
            ref=True,
            hint="(for client users)",
        ),
    ] = None
    active: Annotated[
        bool | None,
        Field(description="false disables the user"),
        Spec("Active", option=None, form=False, on_add=False),
    ] = None
    password: Annotated[
        str | None,
        Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, repr=False),
        Spec(
            "Initial password",
            option=None,  # read from --password-file or a prompt, never a visible option
            input="password",
            hint=f"({MIN_PASSWORD}+ characters)",
            secret=True,
        ),
    ] = None
