"""`sitekeeper user ...`: the first admin is created from the shell, then logs in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from sitekeeper.cli.users import app
from sitekeeper.config import load_settings
from sitekeeper.store import users
from sitekeeper.store.database import Database


def test_add_a_user_from_a_password_file_and_make_a_token(home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a long enough secret\n", encoding="utf-8")
    runner = CliRunner()
    added = runner.invoke(
        app, ["add", "Root@Agency.Example", "--role", "admin", "--password-file", str(secret)]
    )
    assert added.exit_code == 0, added.output
    token = runner.invoke(app, ["token", "root@agency.example", "--name", "deploy"])
    assert token.exit_code == 0 and token.stdout.startswith("skt_")
    db = Database(load_settings().resolved_database_url)
    try:
        with db.session() as session:
            user = users.authenticate(
                session, "root@agency.example", "a long enough secret", datetime.now(UTC)
            )
            assert user is not None and user.role == "admin"
            assert users.token_user(session, token.stdout.strip(), datetime.now(UTC)) is not None
    finally:
        db.dispose()


def test_a_client_user_needs_its_client(home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a long enough secret\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["add", "c@client.example", "--role", "client", "--password-file", str(secret)]
    )
    assert result.exit_code != 0
    assert "needs --client" in str(result.exception)
