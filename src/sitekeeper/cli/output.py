"""How commands print: Rich tables on a terminal, plain text when piped, JSON on request.

``--json`` output goes to stdout only and is a stable contract (docs/cli-json.md);
errors and notes go to stderr so they never corrupt it.

Much of what is printed came from client servers (plugin names, versions,
headers, remote errors), so nothing reaches the terminal as it came: every
cell is one line with its control characters shown as escapes (``\x1b``),
and Rich gets :class:`~rich.text.Text`, never markup, so ``[link=…]`` stays
text. JSON escapes what a terminal could act on (C0, C1, bidi controls).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import typer

from sitekeeper.domain.untrusted import visible

if TYPE_CHECKING:
    from rich.text import Text

# Rich is imported where a terminal gets a table: piped and --json output never pays
# for it (60 ms of every `sitekeeper check --json`).

# Characters JSON may carry raw that a terminal can act on (json.dumps escapes C0 itself).
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_text(data: Any) -> str:
    """Pretty JSON; non-ASCII kept as is (UTF-8) except the characters a terminal acts on."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_default)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    """Pretty JSON on stdout (see :func:`json_text`)."""
    typer.echo(json_text(data))


def _terminal() -> bool:
    return sys.stdout.isatty()


def _cell(value: Any) -> str:
    """A value as one printable line: controls (newline and ESC included) shown as escapes."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return visible(", ".join(str(v) for v in value)) or "-"
    return visible(str(value))


def cell(value: Any, style: str = "") -> Text:
    """A table cell for Rich: plain text (never markup), one line, controls visible."""
    from rich.text import Text  # noqa: PLC0415 - see the imports

    return Text(_cell(value), style=style)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table: Rich on a terminal, tab-separated with a header line when piped."""
    if _terminal():
        from rich.console import Console  # noqa: PLC0415 - see the imports
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        table = Table(box=None, header_style="bold")
        for column in columns:
            # fold, never truncate: a cut URL or name is worse than a wrapped one
            table.add_column(Text(column), overflow="fold")
        for row in rows:
            table.add_row(*(cell(v) for v in row))
        Console().print(table)
        return
    typer.echo("\t".join(columns))
    for row in rows:
        typer.echo("\t".join(_cell(v) for v in row))  # a tab in a value is shown as \t


def print_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """One object as ``key: value`` lines (aligned Rich table on a terminal)."""
    if _terminal():
        from rich.console import Console  # noqa: PLC0415 - see the imports
        from rich.table import Table  # noqa: PLC0415

        table = Table(box=None, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in fields:
            table.add_row(cell(key), cell(value))
        Console().print(table)
        return
    for key, value in fields:
        typer.echo(f"{_cell(key)}: {_cell(value)}")


def note(message: str) -> None:
    """An informational line on stderr (one line, controls visible)."""
    typer.echo(visible(message), err=True)


def error(message: str) -> None:
    """The one-line error format: ``error: ...`` on stderr (controls visible: the
    message may quote a server)."""
    typer.echo(f"error: {visible(message)}", err=True)
