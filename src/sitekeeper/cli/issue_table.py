"""The site / severity / issue / fix table the detection commands print (``probe-security``,
``probe-content``, ``scan``): one shape, so an operator reads them all alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from rich.table import Table

from sitekeeper.cli.output import cell

_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


class Issue(Protocol):
    """What the table shows of one issue."""

    @property
    def severity(self) -> object: ...
    @property
    def title(self) -> str: ...
    @property
    def evidence(self) -> str: ...
    @property
    def fix(self) -> str: ...


class IssueReport(Protocol):
    """What the table shows of one site's report."""

    @property
    def error(self) -> str | None: ...
    @property
    def issues(self) -> Sequence[object]: ...
    def sorted_issues(self) -> Sequence[Issue]: ...


def issue_table(rows: Iterable[tuple[str, IssueReport, str]]) -> Table:
    """A row per issue of each (site, report, what to say when it has none); an unprobed
    site shows its error. Cells are text, never markup: evidence quotes the site."""
    table = Table()
    for column in ("site", "severity", "issue", "fix"):
        table.add_column(column, overflow="fold")
    for where, report, quiet in rows:
        if report.error:
            table.add_row(cell(where), cell("error", "red"), cell(report.error), cell(""))
            continue
        if not report.issues:
            table.add_row(cell(where), cell("-"), cell(quiet), cell(""))
        for issue in report.sorted_issues():
            severity = str(issue.severity)
            table.add_row(
                cell(where),
                cell(severity, _STYLES.get(severity, "")),
                cell(f"{issue.title} — {issue.evidence}" if issue.evidence else issue.title),
                cell(issue.fix),
            )
    return table
