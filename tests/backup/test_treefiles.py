"""Cleaning a restored tree: what a site's tree never holds goes, the modes it had stay."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sitekeeper.backup.treefiles import hand_over


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _tree(root: Path) -> None:
    (root / "sites" / "default").mkdir(parents=True)
    (root / "sites" / "default" / "settings.php").write_text("<?php\n")
    (root / "sites" / "default" / "settings.php").chmod(0o444)
    (root / "tool").write_text("#!/bin/sh\n")
    (root / "tool").chmod(0o4755)  # set-uid, as a hacked site might plant
    os.mkfifo(root / "pipe")
    (root / "link").symlink_to("/etc/passwd")
    (root / "sites" / "default").chmod(0o555)  # Drupal keeps its settings folder read-only


def test_a_restore_keeps_the_modes_it_backed_up_but_no_set_id_bit_or_special_file(
    tmp_path: Path,
) -> None:
    _tree(tmp_path)
    done = hand_over(tmp_path, None, None)
    assert _mode(tmp_path / "sites" / "default") == 0o555
    assert _mode(tmp_path / "sites" / "default" / "settings.php") == 0o444
    assert _mode(tmp_path / "tool") == 0o755
    assert not (tmp_path / "pipe").exists()
    assert (tmp_path / "link").is_symlink()  # kept as a link, never followed
    assert (done.removed, done.setid_cleared) == (1, 1)
    (tmp_path / "sites" / "default").chmod(0o755)  # let pytest clean up as any user


def test_handed_to_a_user_the_owner_can_read_and_write_everything(tmp_path: Path) -> None:
    _tree(tmp_path)
    hand_over(tmp_path, os.getuid(), os.getgid())
    assert _mode(tmp_path / "sites" / "default") == 0o755
    assert _mode(tmp_path / "sites" / "default" / "settings.php") == 0o644
    assert _mode(tmp_path / "tool") == 0o755
