"""Archives the package tests build: a real package changed one way (a file altered, the
top folder renamed, a symlink or a bomb added), written with the standard zipfile module."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

Entry = tuple[zipfile.ZipInfo, bytes]


def rewrite(source: Path, change: Callable[[list[Entry]], list[Entry]]) -> bytes:
    """``source``'s entries passed through ``change``, as a new zip's bytes."""
    with zipfile.ZipFile(source) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in change(entries):
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def altered(name: str, text: bytes) -> Callable[[list[Entry]], list[Entry]]:
    """Append ``text`` to the member ``name``."""

    def change(entries: list[Entry]) -> list[Entry]:
        return [(i, d + text if i.filename == name else d) for i, d in entries]

    return change


def replaced(name: str, old: bytes, new: bytes) -> Callable[[list[Entry]], list[Entry]]:
    """Replace the first ``old`` by ``new`` in the member ``name``."""

    def change(entries: list[Entry]) -> list[Entry]:
        found = [i for i, _ in entries if i.filename == name]
        assert found, name
        return [(i, d.replace(old, new, 1) if i.filename == name else d) for i, d in entries]

    return change


def renamed_top(old: str, new: str) -> Callable[[list[Entry]], list[Entry]]:
    def change(entries: list[Entry]) -> list[Entry]:
        for info, _ in entries:
            info.filename = new + info.filename[len(old) :]
        return entries

    return change


def small_zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    """A zip of ``members``; ``symlink`` names one more entry stored as a Unix symlink."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "../../wp-config.php")
    return out.getvalue()
