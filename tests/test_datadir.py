"""The data directory is readable by its owner only, on new and on existing installs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from sitekeeper.store.database import Database


def _sitekeeper(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process with the usual umask (022), as a user runs it."""
    env = {**os.environ, "SITEKEEPER_HOME": str(home)}
    env.pop("SITEKEEPER_DATABASE_URL", None)
    env.pop("SITEKEEPER_SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "sitekeeper", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        umask=0o022,
        timeout=120,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _sitekeeper(home, "client", "add", "Bäckerei", "--alert-url", "json://alerts.example.com/")
    assert _mode(home) == 0o700
    assert _mode(home / "sitekeeper.db") == 0o600
    assert _mode(home / "secret.key") == 0o600
    # SQLite's write-ahead log and shared memory, while a writer has them open.
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    try:
        with db.session() as session:
            session.execute(text("UPDATE clients SET notes = 'x'"))
            assert _mode(home / "sitekeeper.db-wal") == 0o600
            assert _mode(home / "sitekeeper.db-shm") == 0o600
    finally:
        db.dispose()


def test_an_existing_world_readable_install_is_fixed_at_start_with_a_warning(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    _sitekeeper(home, "client", "add", "Bäckerei", "--alert-url", "json://alerts.example.com/")
    # What older versions left behind.
    cache = home / "cache"
    cache.mkdir()
    (cache / "release-hashes.json").write_text("{}")
    (home / "sitekeeper.db-wal").write_bytes(b"")
    for path, mode in [
        (home, 0o755),
        (home / "sitekeeper.db", 0o644),
        (home / "sitekeeper.db-wal", 0o644),
        (home / "secret.key", 0o644),
        (cache, 0o755),
    ]:
        path.chmod(mode)

    first = _sitekeeper(home, "client", "list")
    assert "made private" in first.stderr
    for name in (
        "sitekeeper.db (0644 -> 0600)",
        "secret.key (0644 -> 0600)",
        "cache (0755 -> 0700)",
    ):
        assert f"{home / name}" in first.stderr
    assert f"{home} (0755 -> 0700)" in first.stderr
    assert _mode(home) == 0o700
    assert _mode(home / "sitekeeper.db") == 0o600
    assert _mode(home / "secret.key") == 0o600
    assert _mode(cache) == 0o700

    again = _sitekeeper(home, "client", "list")
    assert "made private" not in again.stderr
