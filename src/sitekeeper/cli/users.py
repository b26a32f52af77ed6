"""`sitekeeper user ...`: dashboard accounts and API tokens (the first admin starts here)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
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
def add(
    ctx: typer.Context,
    *,
    email: Annotated[str, typer.Argument(help="The login (an e-mail address).")],
    role: Annotated[str, typer.Option(help="admin, technician or client.")] = "technician",
    client: Annotated[
        str | None, typer.Option("--client", help="Client id or name (client users).")
    ] = None,
    password_file: PasswordFile = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; the password is prompted, or read from --password-file or a pipe."""
    state = app_context(ctx)
    password = _password(password_file)
    with state.session() as session:
        owner = get_client(session, client) if client else None
        user = users.add_user(
            session, email=email, role=role, password=password, client=owner, now=state.now()
        )
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


@app.command("token")
def token(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail or id.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create an API token for the user and print it (it is shown only this once)."""
    state = app_context(ctx)
    with state.session() as session:
        raw, _ = users.create_token(session, users.get_user(session, email), name, state.now())
    typer.echo(raw)


@app.command("password")
def password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail or id.")],
    password_file: PasswordFile = None,
) -> None:
    """Set a new password (ends the user's sessions)."""
    state = app_context(ctx)
    secret = _password(password_file)
    with state.session() as session:
        users.set_password(session, users.get_user(session, email), secret)
    output.note("password changed")


@app.command("remove")
def remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="The user's e-mail or id.")]
) -> None:
    """Delete a user with its sessions and tokens."""
    with app_context(ctx).session() as session:
        users.remove_user(session, users.get_user(session, email))
    output.note("user removed")
