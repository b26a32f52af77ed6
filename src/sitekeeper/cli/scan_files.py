"""`sitekeeper scan-files PATH...`: YARA over a local folder's PHP, JavaScript and HTML files.

For a copy of a site on disk (downloaded, restored from a backup); the scheduled
scan of a site over SSH comes with ``sitekeeper scan SITE``. Rules: sitekeeper's
own plus ``SITEKEEPER_SCAN_RULE_DIRS`` and any ``--rules DIR``.

Output: a table of matches on a terminal (a file not scanned, and why, on its own
row); with ``--json`` or when piped, ``{"scanned": N, "rule_problems": [...],
"files": [...]}`` listing only files that matched or were not scanned
(docs/cli-json.md). Exit status: 0 when every file was scanned with every rule and
nothing matched above "low"; 1 otherwise; 2 on bad usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context

if TYPE_CHECKING:
    from sitekeeper.scan.results import FileScan
    from sitekeeper.scan.rules import RuleProblem


def scan_files(
    typer_ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH...", exists=True, help="Folders or files.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
    all_files: Annotated[
        bool,
        typer.Option("--all-files", help="Scan every file, not only PHP, JavaScript and HTML."),
    ] = False,
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "--rules",
            metavar="DIR",
            file_okay=False,
            help="A directory of extra YARA rules (repeatable; added to SCAN_RULE_DIRS).",
        ),
    ] = None,
) -> None:
    """Scan local files for malware and web shells with YARA (PHP, JS and HTML by default)."""
    from sitekeeper.scan.rules import load_rules  # noqa: PLC0415 - YARA loads only here
    from sitekeeper.scan.scanner import Scanner  # noqa: PLC0415
    from sitekeeper.scan.tree import scan_tree  # noqa: PLC0415

    settings = app_context(typer_ctx).settings
    rule_set = load_rules([*settings.scan_rule_dirs, *(rules or [])])
    scanner = Scanner(
        rule_set, max_bytes=settings.scan_max_file_bytes, timeout=settings.scan_file_timeout
    )
    for problem in rule_set.problems:
        output.error(f"rule file left out: {problem}")
    scanned = 0
    reported: list[FileScan] = []
    for root in paths:
        for result in scan_tree(scanner, root, all_files=all_files):
            scanned += 1
            if result.matches or result.not_scanned:
                reported.append(result)
    if as_json or not sys.stdout.isatty():
        output.print_json(_payload(scanned, rule_set.problems, reported))
    else:
        _print_table(reported)
    matched = sum(1 for r in reported if r.matches)
    skipped = sum(1 for r in reported if r.not_scanned)
    output.note(f"{scanned} files: {matched} matched, {skipped} not scanned")
    serious = any(m.severity.rank > 1 for r in reported for m in r.matches)
    raise typer.Exit(1 if serious or skipped or rule_set.problems else 0)


def _payload(
    scanned: int, problems: tuple[RuleProblem, ...], reported: list[FileScan]
) -> dict[str, object]:
    return {
        "scanned": scanned,
        "rule_problems": [{"path": str(p.path), "message": p.message} for p in problems],
        "files": [r.to_json() for r in reported],
    }


def _print_table(reported: list[FileScan]) -> None:
    rows: list[tuple[object, ...]] = []
    for result in reported:
        if result.not_scanned:
            rows.append((result.path, "-", "not scanned", "-", result.not_scanned))
        for match in result.matches:
            first = match.hits[0] if match.hits else None
            rows.append(
                (
                    result.path,
                    str(match.severity),
                    match.rule,
                    first.line if first else "-",
                    f"{match.description} | {first.snippet}" if first else match.description,
                )
            )
    output.print_table(("file", "severity", "rule", "line", "what"), rows)
