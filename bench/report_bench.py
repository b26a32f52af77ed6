"""Monthly reports of 500 clients × 20 sites (a simulated October 2026): time, database
time and statements per report, peak memory; SQLite or PostgreSQL.

python bench/report_bench.py [--database-url URL] [--clients 500] [--sites 20]
    [--workers 2] [--pdfs N] [--keep]

Seeds the month into a new SQLite file (or the empty database URL names: create one with
``createdb -h 127.0.0.1 -U postgres bench_reports``; ``--reuse`` reports on a database a
former run seeded and kept), then makes every client's report in ``--workers`` processes.
"Reads" is the wall time of the report's reads (each query and building its rows);
"SQL" is the time inside the driver's execute. It also times the HTML of every report,
then prints the PDFs of every report (or of the first ``--pdfs`` clients) the way the
scheduled delivery does, in ``reports.printer``'s pool of ``--workers`` processes: the
whole run, figures + HTML + PDF, end to end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).parent))  # bench/_*.py, also when run as a file

from _common import command_line
from _report_seed import NOW, seed

from sitekeeper.reports import document, figures
from sitekeeper.reports.period import month
from sitekeeper.reports.printer import Printer
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Site

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Timing:
    """One client's report."""

    client_id: int
    sites: int
    figures_s: float
    reads_s: float
    reads_cpu_s: float
    sql_s: float
    statements: int
    html_s: float | None
    cpu_s: float  # the worker's CPU for the whole report (figures and HTML)
    error: str | None  # why the HTML failed (the figures are still timed)
    html: str | None  # the report's HTML, printed afterwards


class Meter:
    """Counts a worker's statements and times them, and times the report's reads."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements = 0
        self.sql_s = 0.0
        self.reads_s = 0.0
        self.reads_cpu_s = 0.0  # this process's: SQLite's work, not PostgreSQL's
        self.figures_s = 0.0
        self.made: object = None  # the figures the last report made
        self._started: list[float] = []
        event.listen(db.engine, "before_cursor_execute", self._before)
        event.listen(db.engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *_: Any) -> None:
        self.statements += 1
        self.sql_s += time.perf_counter() - self._started.pop()

    def timed(self, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn`` adding its time to the report's reads."""

        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.reads_s += time.perf_counter() - started
                self.reads_cpu_s += time.process_time() - cpu

        return run

    def figures(self, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn`` (``client_report``) adding its time to the report's figures."""

        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                self.made = fn(*args, **kwargs)
                return self.made
            finally:
                self.figures_s += time.perf_counter() - started

        return run

    @contextmanager
    def one(self) -> Iterator[None]:
        """Count and time one report."""
        self.statements, self.sql_s, self.reads_s, self.figures_s = 0, 0.0, 0.0, 0.0
        self.reads_cpu_s = 0.0
        self.made = None
        yield


_WORKER: dict[str, Meter] = {}  # this process's meter (and its database)


def _start_worker(url: str) -> None:
    """Each process its own engine; the report's reads and its figures timed where the
    report calls them."""
    _WORKER["meter"] = _meter = Meter(Database(url, migrate=False))
    for name in ("read", "list_sites", "list_contracts"):
        setattr(figures, name, _meter.timed(getattr(figures, name)))
    document.client_report = _meter.figures(document.client_report)  # type: ignore[attr-defined]


def _report(client_id: int) -> Timing:
    """One client's report: its figures and its HTML."""
    meter = _WORKER["meter"]
    html_s, error, html = None, None, None
    with meter.db.session() as session, meter.one():
        client = session.get(Client, client_id)
        assert client is not None
        period = month("2026-10", client.timezone)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            rendered = document.render_report(session, client, period, NOW)
            report, html = rendered.figures, rendered.html
            html_s = time.perf_counter() - started - meter.figures_s
        except Exception as exc:  # counted and shown: the figures were made and timed
            if not isinstance(meter.made, figures.ClientReport):
                raise
            error, report = f"{type(exc).__name__}: {exc}", meter.made
        cpu_s = time.process_time() - cpu
    sites = len(report.other_sites) + sum(len(c.sites) for c in report.contracts)
    return Timing(
        client_id,
        sites,
        meter.figures_s,
        meter.reads_s,
        meter.reads_cpu_s,
        meter.sql_s,
        meter.statements,
        html_s,
        cpu_s,
        error,
        html,
    )


def _quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--sites", type=int, default=20, help="per client")
    parser.add_argument("--workers", type=int, default=2, help="processes making reports")
    parser.add_argument("--pdfs", type=int, default=None, help="clients printed (default: all)")
    parser.add_argument("--reuse", action="store_true", help="report on an already seeded DB")
    parser.add_argument("--seed-only", action="store_true", help="seed, report nothing")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    db = Database(url)
    started = time.perf_counter()
    if not args.reuse:
        seeded = seed(db, args.clients, args.sites, tmp)
        print(f"seeded {seeded} in {time.perf_counter() - started:.0f} s", flush=True)
    if args.database_url is not None:
        tmp.rmdir()  # only the CSV import's base folder, left empty
    if args.seed_only:
        print(f"seeded: {url}")
        return
    with db.session() as s:
        ids = list(s.scalars(select(Client.id).order_by(Client.id)))
        sites = s.scalar(select(func.count()).select_from(Site))
    db.dispose()
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(args.workers, _start_worker, (url,)) as pool:
        timings = pool.map(_report, ids, chunksize=4)
        pool.close()
        pool.join()
    total_s = time.perf_counter() - started
    reports_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    htmls = {t.client_id: t.html for t in timings if t.html is not None}
    chosen = dict(list(htmls.items())[: args.pdfs if args.pdfs is not None else len(htmls)])
    printing = time.perf_counter()
    with Printer(args.workers) as printer:
        printed = printer.print_all(chosen)
    pdf_s = time.perf_counter() - printing
    all_s = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    pdf_cpu = (usage.ru_utime + usage.ru_stime) - (reports_usage.ru_utime + reports_usage.ru_stime)
    print("command:", command_line())
    print(f"database: {db.dialect}, reports: {len(timings)}, sites: {sites}")
    print(f"workers: {args.workers} processes on {os.cpu_count()} cores")
    cpu = sum(t.cpu_s for t in timings)
    print(f"all reports (figures and HTML): {total_s:.1f} s wall, {cpu:.1f} s CPU in the workers")
    print(f"  per report CPU: {_quantiles([t.cpu_s for t in timings])}")
    print(f"figures per report: {_quantiles([t.figures_s for t in timings])}")
    print(f"  reads (database) per report: {_quantiles([t.reads_s for t in timings])}")
    print(f"  reads CPU per report: {_quantiles([t.reads_cpu_s for t in timings])}")
    print(f"  SQL execute per report: {_quantiles([t.sql_s for t in timings])}")
    counts = sorted({t.statements for t in timings})
    print(f"  statements per report: {counts[0]}..{counts[-1]}")
    html_times = [t.html_s for t in timings if t.html_s is not None]
    if html_times:
        print(f"HTML per report (after figures): {_quantiles(html_times)}")
    failed = [t for t in timings if t.error]
    if failed:
        print(f"HTML FAILED for {len(failed)} clients, e.g. {failed[0].client_id}: ")
        print(f"  {failed[0].error}")
    if chosen:
        sizes = sorted(len(pdf) for pdf in printed.pdfs.values())
        median = sizes[len(sizes) // 2] / 1024 if sizes else 0
        print(
            f"PDFs of {len(printed.pdfs)} clients ({len(printed.failed)} failed): "
            f"{pdf_s:.1f} s wall on {args.workers} processes, {pdf_cpu:.1f} s CPU, "
            f"{pdf_cpu / len(chosen):.2f} s CPU each, median {median:.0f} KiB"
        )
        for key, why in list(printed.failed.items())[:3]:
            print(f"  client {key}: {why}")
    print(f"END TO END (figures, HTML, PDF): {all_s:.1f} s wall ({all_s / 60:.1f} min)")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"peak RSS: largest worker (reports or printer) {usage.ru_maxrss / 1024:.0f} MiB")
    if args.database_url is None and not args.keep:
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()
    elif args.database_url is None:
        print(f"kept: {tmp}/bench.db (--database-url sqlite:///{tmp}/bench.db --reuse)")


if __name__ == "__main__":
    main()
