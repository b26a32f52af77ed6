"""How commands print: Rich tables on a terminal, plain text when piped, JSON on request.

``--json`` output goes to stdout only and is a stable contract (docs/cli-json.md);
errors and notes go to stderr so they never corrupt it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    """Pretty JSON on stdout; non-ASCII kept as is (UTF-8)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def _terminal() -> bool:
    return sys.stdout.isatty()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table: Rich on a terminal, tab-separated with a header line when piped."""
    if _terminal():
        table = Table(box=None, header_style="bold")
        for column in columns:
            # fold, never truncate: a cut URL or name is worse than a wrapped one
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        Console().print(table)
        return
    typer.echo("\t".join(columns))
    for row in rows:
        typer.echo("\t".join(_cell(v).replace("\t", " ") for v in row))


def print_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """One object as ``key: value`` lines (aligned Rich table on a terminal)."""
    if _terminal():
        table = Table(box=None, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in fields:
            table.add_row(key, _cell(value))
        Console().print(table)
        return
    for key, value in fields:
        typer.echo(f"{key}: {_cell(value)}")


def note(message: str) -> None:
    """An informational line on stderr."""
    typer.echo(message, err=True)


def error(message: str) -> None:
    """The one-line error format: ``error: ...`` on stderr."""
    typer.echo(f"error: {message}", err=True)
