"""Key copies for OpenSSH: 0600, never through a planted symlink, gone after use."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sitekeeper.remote.keys import key_file, remove_stale_keys, write_key_file

TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"


def test_a_copy_is_private_and_removed_after_the_block(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "site"
    with key_file(directory, TEXT) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert path.read_text() == TEXT + "\n"
    assert not path.exists()


def test_removed_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), key_file(tmp_path, TEXT) as path:
        raise RuntimeError
    assert not path.exists()


def test_names_are_fresh_and_stale_copies_are_swept(tmp_path: Path) -> None:
    first, second = write_key_file(tmp_path, TEXT), write_key_file(tmp_path, TEXT)
    assert first != second
    (tmp_path / "other").write_text("kept")
    assert remove_stale_keys(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["other"]


def test_a_planted_symlink_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere"
    os.symlink(target, tmp_path / "ssh-key-fixed")
    monkeypatch.setattr("secrets.token_hex", lambda n: "fixed")
    with pytest.raises(FileExistsError):
        write_key_file(tmp_path, TEXT)
    assert not target.exists()
