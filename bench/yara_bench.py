"""YARA over 10,000 PHP files: files/s and MB/s of sitekeeper's rule set.

The files are the real ones: every PHP file of the WordPress release zips in the test
packages folder (``bash ../shared/packages/wordpress-debian.sh
/var/cache/sitekeeper-test-packages``), repeated until there are ``--files`` of them,
each copy varied by a comment line so no two are the same. They are written to a
scratch folder (read back through the scanner's own ``scan_file``: open without
following links, fstat, bounded read) and scanned

- one file after another in one thread, and
- by ``scan_tree`` with ``--workers`` threads (YARA scans outside the GIL),

after the rule set's compile time. Nothing may match above "low": the figures are
those of a clean site.

    .venv/bin/python bench/yara_bench.py [--files 10000] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _common import command_line

from sitekeeper.scan.rules import compile_rules
from sitekeeper.scan.scanner import Scanner
from sitekeeper.scan.tree import scan_tree

PACKAGES = Path(os.environ.get("SITEKEEPER_TEST_PACKAGES", "/var/cache/sitekeeper-test-packages"))


def _php_files(folder: Path) -> list[tuple[str, bytes]]:
    """(name, content) of every PHP file of the WordPress releases there."""
    files: list[tuple[str, bytes]] = []
    for package in sorted(folder.glob("wordpress-*.zip")):
        with zipfile.ZipFile(package) as archive:
            files += [
                (entry.filename, archive.read(entry))
                for entry in archive.infolist()
                if entry.filename.endswith(".php")
            ]
    return files


def _write(target: Path, sources: list[tuple[str, bytes]], count: int) -> int:
    """``count`` files under ``target``, copies varied by a first comment line; bytes."""
    total = 0
    for i in range(count):
        name, data = sources[i % len(sources)]
        path = target / f"copy{i // len(sources)}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = data.replace(b"<?php", f"<?php /* copy {i} */".encode(), 1)
        path.write_bytes(body)
        total += len(body)
    return total


def _run(scanner: Scanner, root: Path, workers: int) -> tuple[float, int, int]:
    """Seconds, files scanned, files with a match above low."""
    start = time.perf_counter()
    files = alarms = 0
    for result in scan_tree(scanner, root, workers=workers):
        files += 1
        alarms += bool(result.not_scanned) or any(m.severity.rank > 1 for m in result.matches)
    return time.perf_counter() - start, files, alarms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="PHP files to scan")
    parser.add_argument("--workers", default="1,2,4", help="thread counts, comma separated")
    parser.add_argument("--rounds", type=int, default=3, help="runs per thread count (best)")
    args = parser.parse_args()

    sources = _php_files(PACKAGES)
    if not sources:
        sys.exit(f"no wordpress-*.zip in {PACKAGES}: see this script's docstring")
    print("command:", command_line())
    print(f"cores: {os.cpu_count()}, source PHP files: {len(sources)}")

    start = time.perf_counter()
    rules = compile_rules()
    print(f"compile: {len(rules.rules())} rules in {(time.perf_counter() - start) * 1000:.0f} ms")
    scanner = Scanner(rules)

    with tempfile.TemporaryDirectory(prefix="bench-yara-") as scratch:
        root = Path(scratch)
        size = _write(root, sources, args.files)
        mb = size / 1e6
        print(f"files: {args.files}, {mb:.1f} MB")
        for workers in (int(w) for w in args.workers.split(",")):
            best, files, alarms = min(_run(scanner, root, workers) for _ in range(args.rounds))
            print(
                f"workers {workers}: {best:.2f} s, {files / best:,.0f} files/s, "
                f"{mb / best:.1f} MB/s, above low or not scanned: {alarms}"
            )


if __name__ == "__main__":
    main()
