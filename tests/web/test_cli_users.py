"""`sitekeeper user ...`: the first admin is created from the shell, then logs in."""

from __future__ import annotations

import os
import subprocess
import sys
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


def _sitekeeper(home: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process whose standard input is a pipe, not a tty."""
    env = {**os.environ, "SITEKEEPER_HOME": str(home)}
    env.pop("SITEKEEPER_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "sitekeeper", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_user_add_without_a_terminal_reads_the_password_from_standard_input(
    home: Path,
) -> None:
    piped = _sitekeeper(
        home, "user", "add", "ops@agency.example", "--role", "admin", stdin="piped secret 123\n"
    )
    assert piped.returncode == 0, piped.stderr
    assert "Aborted" not in piped.stderr
    dashed = _sitekeeper(
        home, "user", "add", "tech@agency.example", "--password-file", "-",
        stdin="dashed secret 456\r\n",
    )  # fmt: skip
    assert dashed.returncode == 0, dashed.stderr
    db = Database(load_settings().resolved_database_url)
    try:
        with db.session() as session:
            now = datetime.now(UTC)
            assert users.authenticate(session, "ops@agency.example", "piped secret 123", now)
            assert users.authenticate(session, "tech@agency.example", "dashed secret 456", now)
    finally:
        db.dispose()


def test_user_add_with_nothing_on_standard_input_says_how_to_give_a_password(
    home: Path,
) -> None:
    result = _sitekeeper(home, "user", "add", "ops@agency.example", stdin="")
    assert result.returncode != 0
    assert "--password-file" in result.stderr and "Aborted" not in result.stderr
