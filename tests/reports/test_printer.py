"""Printing reports in worker processes: real PDFs on every worker, one report that kills
its process or needs too much memory fails alone, the others print."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from sitekeeper.reports.printer import Printer, PrintFailed
from tests.reports import printer_jobs

pytestmark = pytest.mark.timeout(300)

PAGE = "<!DOCTYPE html><html><body><h1>Report {n}</h1><p>Uptime 99.9 %</p></body></html>"


def test_prints_real_pdfs_on_two_workers(tmp_path: Path) -> None:
    with Printer(2) as printer:
        done = printer.print_all({n: PAGE.format(n=n) for n in range(4)})
    assert done.failed == {}
    assert sorted(done.pdfs) == [0, 1, 2, 3]
    for n, pdf in done.pdfs.items():
        path = tmp_path / f"{n}.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
        )
        assert f"Report {n}" in text.stdout


def test_a_worker_that_dies_loses_only_its_own_report() -> None:
    jobs = {n: f"report {n}" for n in range(6)} | {"bad": "die", "odd": "raise"}
    with Printer(2, job=printer_jobs.die_or_echo) as printer:
        done = printer.print_all(jobs)
        again = printer.print_all({"after": "still printing"})  # the pool was renewed
    assert set(done.failed) == {"bad", "odd"}
    assert "process died" in str(done.failed["bad"])
    assert "ValueError: bad document" in str(done.failed["odd"])
    assert done.pdfs == {n: f"report {n}".encode() for n in range(6)}
    assert again.pdfs == {"after": b"still printing"}


def test_a_report_over_the_memory_limit_fails_alone() -> None:
    with Printer(1, memory_mb=400, job=printer_jobs.allocate) as printer:
        done = printer.print_all({"small": "10", "huge": "2000"})
    assert done.pdfs == {"small": b"\x00"}
    assert isinstance(done.failed["huge"], PrintFailed)


def test_async_print_survives_a_dead_worker() -> None:
    async def run(printer: Printer) -> tuple[bytes, BaseException | bytes]:
        ok = await printer.print("fine")
        try:
            bad: BaseException | bytes = await printer.print("die")
        except PrintFailed as exc:
            bad = exc
        return ok, bad

    with Printer(1, job=printer_jobs.die_or_echo) as printer:
        ok, bad = asyncio.run(run(printer))
        after = asyncio.run(printer.print("next"))
    assert ok == b"fine"
    assert isinstance(bad, PrintFailed)
    assert after == b"next"


def test_async_prints_beside_a_report_that_kills_its_worker_still_print() -> None:
    async def run(printer: Printer) -> list[bytes | BaseException]:
        jobs = [printer.print(text) for text in ("a", "die", "b", "c", "d")]
        return await asyncio.gather(*jobs, return_exceptions=True)

    with Printer(2, job=printer_jobs.die_or_echo) as printer:
        done = asyncio.run(run(printer))
    assert [d for d in done if isinstance(d, bytes)] == [b"a", b"b", b"c", b"d"]
    assert isinstance(done[1], PrintFailed) and "process died" in str(done[1])


def test_workers_are_renewed_and_every_report_still_prints() -> None:
    with Printer(2, reports_per_worker=2, job=printer_jobs.pid) as printer:
        done = printer.print_all({n: str(n) for n in range(12)})
    assert sorted(done.pdfs) == list(range(12)) and done.failed == {}
    per_process = Counter(done.pdfs.values())
    # A pool takes 2 workers × 2 reports, then a new pool (new processes) takes the next.
    assert len(per_process) >= 3 and max(per_process.values()) <= 4
