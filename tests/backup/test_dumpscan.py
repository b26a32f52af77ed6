"""The dump scanner: it finds what the real mysql client would run, and real dumps pass.

The oracle is the real MariaDB client itself: each input is fed to ``mysql``
with client commands enabled (as the drill did before) in a scratch
directory, and whether the client ran the command (a marker file appears) must
match whether the scanner reports a client command.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.backup import dumpscan
from sitekeeper.backup.dumpscan import UnsafeDump, scan
from tests.backup.crafted import mysql_root

TABLE = "CREATE TABLE IF NOT EXISTS t (a text);\n"

# Inputs after which the client runs a command of its own (the marker file appears).
RUN_BY_CLIENT = [
    "SELECT 1;\n\\! touch {m}\n",
    "SELECT 1;\nsystem touch {m}\n",
    "SELECT 1;\n  system touch {m};\n",  # a delimiter on the line does not make it SQL
    "/*!40101 \\! touch {m} */;\n",  # executable comments are code to the client
    "SELECT 'a\\'b', `x\\`; \\! touch {m}\n",  # \\ escapes in '…', not in `…`
    'SELECT "a\\"b"; \\! touch {m}\n',
    "/* a comment\n--x */ \\! touch {m}\n*/\n",  # a '--' line inside a comment ends it
    "INSERT INTO t VALUES ('two\nlines'); \\! touch {m}\n",
    "DELIMITER ;;\nSELECT 1;;\n\\! touch {m}\nDELIMITER ;\n",
    "SELECT 1; \\! touch {m}\n",
    "\\. {m}-missing.sql\n\\! touch {m}\n",
]
# Inputs in which the same words are data or comments: the client runs nothing.
NOT_RUN = [
    "SELECT '\\! touch {m}';\n",
    "INSERT INTO t VALUES ('\nsystem touch {m}\n');\n",
    "/* \\! touch {m} */\nSELECT 1;\n",
    "-- \\! touch {m}\nSELECT 1;\n",
    "--\\! touch {m}\nSELECT 1;\n",  # the client skips a line that starts with --
    "#\\! touch {m}\nSELECT 1;\n",
    "SELECT\n system touch {m}\n, 1;\n",  # inside a statement: SQL, not a command
    "SELECT `\\` , 1 -- \\! touch {m}\n;\n",
]


@pytest.fixture
def database() -> Iterator[str]:
    name = f"sk_scan_{os.getpid()}_{os.urandom(3).hex()}"
    mysql_root(f"CREATE DATABASE `{name}`")
    yield name
    mysql_root(f"DROP DATABASE IF EXISTS `{name}`")


def client_runs(text: str, database: str, tmp_path: Path) -> bool:
    """Feed ``text`` to the real client as the old drill did; whether it ran the command."""
    marker = tmp_path / "marker"
    marker.unlink(missing_ok=True)
    subprocess.run(
        ["mysql", "-h127.0.0.1", "-uroot", "--force", database],
        input=(TABLE + text.format(m=marker)).encode(),
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    return marker.exists()


def client_commands(text: str) -> list[str]:
    found = scan(io.BytesIO((TABLE + text.format(m="/tmp/x")).encode()))
    return [f.what for f in found if "client command" in f.what or "comment line" in f.what]


@pytest.mark.parametrize("text", RUN_BY_CLIENT)
def test_what_the_client_runs_is_found(
    text: str, database: str, tmp_path: Path, real_wp_sites: list[dict[str, Any]]
) -> None:
    assert client_runs(text, database, tmp_path), "the oracle itself: the client runs this"
    assert client_commands(text)


@pytest.mark.parametrize("text", NOT_RUN)
def test_data_and_comments_are_not_commands(
    text: str, database: str, tmp_path: Path, real_wp_sites: list[dict[str, Any]]
) -> None:
    assert not client_runs(text, database, tmp_path)
    assert client_commands(text) == []


@pytest.mark.parametrize(
    ("sql", "finding"),
    [
        # Client commands that do nothing when the client reads a file (batch mode) today,
        # but are never part of a dump either.
        ("tee /tmp/out", "client command 'tee'"),
        ("pager cat > /tmp/out", "client command 'pager'"),
        ("connect other 10.0.0.1", "client command 'connect'"),
        ("source /etc/passwd", "client command 'source'"),
        ("GRANT ALL ON *.* TO 'x'@'%';", "GRANT statement"),
        ("REVOKE ALL ON *.* FROM 'x'@'%';", "REVOKE statement"),
        ("CREATE USER 'x'@'%' IDENTIFIED BY 'y';", "CREATE USER statement"),
        ("CREATE OR REPLACE USER x;", "CREATE OR REPLACE statement"),
        ("DROP DATABASE other;", "DROP DATABASE statement"),
        ("/*!40000 DROP SCHEMA IF EXISTS other */;", "DROP SCHEMA statement"),
        ("CREATE DATABASE other;", "CREATE DATABASE statement"),
        ("USE other;", "USE statement"),
        ("SET GLOBAL general_log = 1;", "changes the server"),
        ("SET @a = 1, @@global.max_connections = 1;", "changes the server"),
        ("SET PASSWORD FOR root = PASSWORD('x');", "SET PASSWORD statement"),
        ("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t;", "LOAD DATA statement"),
        ("SELECT * FROM t INTO OUTFILE '/tmp/x';", "writes files"),
        ("INSTALL SONAME 'x';", "INSTALL SONAME statement"),
        ("/*!40101 SET NAMES gbk */;", "character set GBK"),
        ("SET sql_mode = 'ANSI_QUOTES';", "SET sql_mode"),
        ("SET @@SESSION.sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_ALL_TABLES';", "SET sql_mode"),
        # The server runs every statement of a query the client sends whole.
        ("DELIMITER ;;\nSELECT 1; GRANT ALL ON *.* TO x;;\nDELIMITER ;", "GRANT statement"),
        ("DELIMITER +\nSELECT 1+\n", "unusual client DELIMITER"),
    ],
)
def test_statements_a_site_dump_never_holds(sql: str, finding: str) -> None:
    found = scan(io.BytesIO(f"SELECT 1;\n{sql}\nSELECT 2;\n".encode()))
    assert any(finding in f.what for f in found), found
    assert found[0].line >= 2


def test_the_finding_names_the_line_and_escapes_what_it_quotes() -> None:
    text = b"SELECT 1;\nSELECT 2;\n\\! echo \x1b]52;c;SGVsbG8=\x07 > x\n"
    with pytest.raises(UnsafeDump) as refused:
        dumpscan.check(io.BytesIO(text))
    message = str(refused.value)
    assert message.startswith("the database dump was refused: line 3: client command \\!")
    assert "\x1b" not in message and "\\x1b" in message


def test_a_real_dump_with_triggers_and_views_passes_and_loads_as_a_plain_user(
    database: str, tmp_path: Path, real_wp_sites: list[dict[str, Any]]
) -> None:
    """mysqldump's own output (sandbox line, triggers with DELIMITER ;; and DEFINER, views,
    quotes and backslashes in data) is accepted, and the rewritten copy loads as a user
    with rights on one database only."""
    mysql_root(
        f"USE `{database}`; CREATE TABLE p (id INT PRIMARY KEY, body TEXT, n INT DEFAULT 0);"
        "INSERT INTO p VALUES (1, 'it''s \\\\ \"quoted\" -- /* not */ ; \\n line', 0);"
        "CREATE TRIGGER bump BEFORE UPDATE ON p FOR EACH ROW SET NEW.n = OLD.n + 1;"
        "CREATE VIEW v AS SELECT id, body FROM p;"
    )
    dumped = subprocess.run(
        ["mysqldump", "-h127.0.0.1", "-uroot", "--single-transaction", "--triggers", database],
        capture_output=True,
        check=True,
    ).stdout
    assert dumped.startswith(b"/*M!999999\\- enable the sandbox mode */")
    assert b"DEFINER=" in dumped
    copy = io.BytesIO()
    assert scan(io.BytesIO(dumped), rewrite=copy) == []
    assert b"DEFINER=CURRENT_USER" in copy.getvalue()
    assert b"DEFINER=`root`" not in copy.getvalue()

    target, user = f"{database}_copy", f"sk_scan_{os.urandom(3).hex()}"
    mysql_root(
        f"CREATE DATABASE `{target}`; CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw';"
        f"CREATE USER '{user}'@'localhost' IDENTIFIED BY 'pw';"
        f"GRANT ALL ON `{target}`.* TO '{user}'@'127.0.0.1';"
        f"GRANT ALL ON `{target}`.* TO '{user}'@'localhost';"
    )
    try:
        loaded = subprocess.run(
            ["mysql", "-h127.0.0.1", f"-u{user}", "-ppw", "--binary-mode", target],
            input=copy.getvalue(),
            capture_output=True,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr
        counted = mysql_root(
            f"UPDATE `{target}`.p SET body = body; SELECT n FROM `{target}`.v, `{target}`.p"
        )
        assert counted.split() == ["1"]  # the trigger came along and runs
    finally:
        mysql_root(
            f"DROP DATABASE IF EXISTS `{target}`; DROP USER IF EXISTS '{user}'@'127.0.0.1';"
            f"DROP USER IF EXISTS '{user}'@'localhost';"
        )


def test_a_real_wordpress_dump_passes(real_wp_sites: list[dict[str, Any]]) -> None:
    dumped = subprocess.run(
        ["mysqldump", "-h127.0.0.1", "-uroot", "--single-transaction", "--hex-blob", "wp1"],
        capture_output=True,
        check=True,
    ).stdout
    copy = io.BytesIO()
    assert scan(io.BytesIO(dumped), rewrite=copy) == []
    assert copy.getvalue() == dumped  # nothing to rewrite: byte for byte


def test_long_lines_are_read_in_pieces_without_splitting_an_escape() -> None:
    head = b"INSERT INTO t VALUES ('"
    # The piece boundary falls between the two bytes of an escaped backslash.
    filler = b"x" * (dumpscan.LINE_LIMIT - len(head) - 1)
    text = head + filler + b"\\\\', 1);\n\\! touch x\n"
    found = scan(io.BytesIO(text))
    assert [f.what.split(":")[0] for f in found] == ["client command \\!"]
    assert found[0].line == 2
