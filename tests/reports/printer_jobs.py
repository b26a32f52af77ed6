"""Jobs for the printer's worker processes in tests (importable by name: they are pickled)."""

from __future__ import annotations

import os


def die_or_echo(html: str) -> bytes:
    """Kills its process on "die" (as a crash in Pango would), raises on "raise", else
    returns the text."""
    if html == "die":
        os._exit(3)
    if html == "raise":
        raise ValueError("bad document")
    return html.encode()


def allocate(html: str) -> bytes:
    """Asks for ``html`` MiB at once."""
    return bytes(int(html) * 1024 * 1024)[:1]


def pid(html: str) -> bytes:
    """The worker's process id."""
    return str(os.getpid()).encode()
