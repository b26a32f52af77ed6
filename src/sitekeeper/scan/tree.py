"""A local folder's files, scanned in parallel: what ``sitekeeper scan-files`` runs.

The SSH side (issue 12 §1) hands the scanner the new and changed files of a site
instead; this walk is for a copy on disk (a downloaded site, a backup restored to
a folder). Links are reported, not followed: a tree may point anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sitekeeper.scan.results import FileScan
from sitekeeper.scan.scanner import Scanner

# What a web server runs or a browser loads as code; `all_files` scans everything.
CODE_SUFFIXES = frozenset(
    {".php", ".phtml", ".pht", ".phar", ".inc", ".js", ".mjs", ".html", ".htm"}
    | {f".php{n}" for n in range(3, 9)}
)


def code_file(name: str) -> bool:
    """Whether a file of this name is one the scan looks at by default (PHP, JS, HTML)."""
    return os.path.splitext(name)[1].lower() in CODE_SUFFIXES


def files_under(root: Path, *, all_files: bool = False) -> Iterator[tuple[Path, str]]:
    """(path, name relative to ``root``) of every file to scan, in a stable order;
    links to folders are listed too (the scan reports them as not followed)."""
    if not root.is_dir() or root.is_symlink():
        yield root, root.name
        return
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        here = Path(folder)
        links = [d for d in dirs if (here / d).is_symlink()]
        for name in sorted([*files, *links]):
            if all_files or code_file(name):
                path = here / name
                yield path, str(path.relative_to(root))


def scan_tree(
    scanner: Scanner, root: Path, *, all_files: bool = False, workers: int | None = None
) -> Iterator[FileScan]:
    """Every file of ``root`` scanned, in walk order, ``workers`` at a time (default: one
    per core; YARA scans outside the GIL)."""
    paths = list(files_under(root, all_files=all_files))
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        yield from pool.map(lambda item: scanner.scan_file(*item), paths)
