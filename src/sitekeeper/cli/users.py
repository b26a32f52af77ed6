"""`sitekeeper user ...`: dashboard accounts and API tokens (the first admin starts here)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.cli.entity_options import entity_options
from sitekeeper.domain.durations import parse_duration
from sitekeeper.domain.users import UserFields
from sitekeeper.errors import UsageError
from sitekeeper.store import users
from sitekeeper.store.clients import get_client

app = typer.Typer(help="Users of the web dashboard and their API tokens.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def _password(password_file: Path | None) -> str:
    """From the file's first line (``-``: standard input), else prompted twice without echo.

    Without a terminal (a script, ``docker exec`` without ``-t``, a pipe) there is
    nobody to prompt: the first line of standard input is the password, as with
    ``--password-file -``, instead of click's bare "Aborted.".
    """
    if password_file is not None and str(password_file) != "-":
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read {password_file}: {exc.strerror}") from None
        return lines[0] if lines else ""
    if password_file is not None or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UsageError(
                "no password on standard input: pipe one in, or use --password-file FILE"
            )
        return line.rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="Read the password from this file's first line (-: standard input). "
        "Without a terminal, standard input is read anyway.",
    ),
]


@app.command("add")
@entity_options(UserFields, "add")
def add(
    ctx: typer.Context,
    *,
    values: dict[str, Any],
    password_file: PasswordFile = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; the password is prompted, or read from --password-file or a pipe."""
    state = app_context(ctx)
    password = _password(password_file)
    with state.session() as session:
        if "client_id" in values:
            values["client_id"] = get_client(session, values["client_id"]).id
        user = users.add_user(session, now=state.now(), **values, password=password)
        data = {"id": user.id, "email": user.email, "role": user.role, "client_id": user.client_id}
    if as_json:
        output.print_json(data)
    else:
        output.note(f"user {data['email']} added ({data['role']})")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every user."""
    with app_context(ctx).session() as session:
        data = [
            {
                "id": u.id,
                "email": u.email,
                "role": u.role,
                "client": u.client.name if u.client else None,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in users.list_users(session)
        ]
    if as_json:
        output.print_json(data)
        return
    output.print_table(
        ["id", "email", "role", "client", "last login"],
        [[d["id"], d["email"], d["role"], d["client"], d["last_login_at"]] for d in data],
    )


def _lifetime(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        raise UsageError(f"--expires: {exc}") from None


@app.command("token")
def token(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail or id.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Lifetime, e.g. 90d or 12h (default: until revoked)."),
    ] = None,
) -> None:
    """Create an API token for the user and print it (it is shown only this once)."""
    state = app_context(ctx)
    lifetime = _lifetime(expires)
    with state.session() as session:
        user = users.get_user(session, email)
        raw, _ = users.create_token(session, user, name, state.now(), expires_in=lifetime)
    typer.echo(raw)


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@app.command("tokens")
def tokens(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail or id.")],
    as_json: JsonOpt = False,
) -> None:
    """The user's API tokens (never their secrets), newest first."""
    with app_context(ctx).session() as session:
        data = [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _stamp(t.created_at),
                "last_used_at": _stamp(t.last_used_at),
                "expires_at": _stamp(t.expires_at),
            }
            for t in users.list_tokens(session, users.get_user(session, email))
        ]
    if as_json:
        output.print_json(data)
        return
    output.print_table(
        ["id", "name", "starts with", "created", "last used", "expires"],
        [
            [d["id"], d["name"], f"{d['prefix']}…", d["created_at"], d["last_used_at"],
             d["expires_at"] or "never"]
            for d in data
        ],
    )  # fmt: skip


@app.command("revoke-token")
def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token's id (`sitekeeper user tokens`).")],
) -> None:
    """Revoke an API token of any user: it stops working at once."""
    with app_context(ctx).session() as session:
        row = users.get_token(session, token_id)
        owner = users.get_user(session, row.user_id)
        users.revoke_token(session, owner, token_id)
        email = owner.email
    output.note(f"token {token_id} of {email} revoked")


@app.command("password")
def password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail or id.")],
    password_file: PasswordFile = None,
    keep_tokens: Annotated[
        bool, typer.Option("--keep-tokens", help="Keep the user's API tokens working.")
    ] = False,
) -> None:
    """Set a new password (ends the user's sessions and revokes its API tokens)."""
    state = app_context(ctx)
    secret = _password(password_file)
    with state.session() as session:
        user = users.get_user(session, email)
        revoked = users.set_password(session, user, secret, keep_tokens=keep_tokens)
    output.note(f"password changed; {revoked} API token(s) revoked")


@app.command("remove")
def remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="The user's e-mail or id.")]
) -> None:
    """Delete a user with its sessions and tokens."""
    with app_context(ctx).session() as session:
        users.remove_user(session, users.get_user(session, email))
    output.note("user removed")
