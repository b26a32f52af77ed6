"""Printing many reports' PDFs at once, in worker processes: one per core, each with a
bounded address space, renewed after some reports (WeasyPrint holds on to font and
layout caches), and a crash of one losing no other report.

A PDF is seconds of CPU in WeasyPrint (pure Python, holding the GIL), so printing the
month's reports one after another in the serving process would use one core and stall
everything else in it. The scheduled delivery and the benchmark print through here.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Generic, TypeVar

from sitekeeper.errors import SitekeeperError

K = TypeVar("K")

MEMORY_MB = 1536  # address space per worker: a 20-site report peaks near 100 MiB resident
REPORTS_PER_WORKER = 100  # then a fresh process: caches and fragmentation stay bounded


class PrintFailed(SitekeeperError):
    """A report's PDF could not be printed: the printer raised, or its process died (the
    memory limit, a crash in Pango); the other reports printed."""


def _limit_memory(megabytes: int) -> None:
    """Runs first in each worker: a report that needs more address space fails there
    (MemoryError, or the process dies) instead of pushing the host into swap."""
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _print(html: str) -> bytes:
    from sitekeeper.reports.pdf import html_to_pdf  # noqa: PLC0415 - in the worker only

    return html_to_pdf(html)


@dataclass
class Printed(Generic[K]):
    """What ``print_all`` made: each key's PDF, or why it has none."""

    pdfs: dict[K, bytes]
    failed: dict[K, PrintFailed]


class Printer:
    """A pool of printing processes; ``close()`` (or ``with``) ends them."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_mb: int = MEMORY_MB,
        reports_per_worker: int = REPORTS_PER_WORKER,
        job: Callable[[str], bytes] = _print,
    ) -> None:
        self.job = job  # a module-level function (it is pickled to the workers)
        self.workers = workers or os.cpu_count() or 1
        self.memory_mb = memory_mb
        self.reports_per_worker = reports_per_worker
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """End the worker processes (a print under way is waited for)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                # spawn: a fork of a serving process would copy its threads' locks
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_limit_memory,
                initargs=(self.memory_mb,),
                max_tasks_per_child=self.reports_per_worker,
            )
        return self._pool

    def _renew(self) -> None:
        """A dead worker breaks the whole executor: start a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def print_all(self, htmls: Mapping[K, str]) -> Printed[K]:
        """Every document's PDF, printed on all workers. When a worker dies, the reports
        that were printing with it are printed again one at a time, so only the one that
        kills its process fails."""
        done = Printed[K]({}, {})
        futures: dict[Future[bytes], K] = {}
        for key, html in htmls.items():
            futures[self._executor().submit(self.job, html)] = key
        suspects: list[K] = []
        for future in as_completed(futures):
            key = futures[future]
            try:
                done.pdfs[key] = future.result()
            except BrokenProcessPool:
                suspects.append(key)
            except Exception as exc:  # the printer's own error: this report only
                done.failed[key] = PrintFailed(f"{type(exc).__name__}: {exc}")
        if suspects:
            self._renew()
        for key in suspects:
            try:
                done.pdfs[key] = self._executor().submit(self.job, htmls[key]).result()
            except BrokenProcessPool:
                self._renew()
                done.failed[key] = PrintFailed(_DIED.format(mb=self.memory_mb))
            except Exception as exc:
                done.failed[key] = PrintFailed(f"{type(exc).__name__}: {exc}")
        return done

    async def print(self, html: str) -> bytes:
        """One document's PDF, printed in a worker while the event loop goes on."""
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            try:
                return await loop.run_in_executor(self._executor(), self.job, html)
            except BrokenProcessPool:
                # Another report may have killed the worker: once more, in a new one.
                self._renew()
                if attempt:
                    break
            except Exception as exc:
                raise PrintFailed(f"{type(exc).__name__}: {exc}") from exc
        raise PrintFailed(_DIED.format(mb=self.memory_mb))


_DIED = "the printing process died (over its {mb} MiB of memory, or a crash in the printer)"
