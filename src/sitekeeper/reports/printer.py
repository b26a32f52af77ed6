"""Printing many reports' PDFs at once, in worker processes: one per core, each with a
bounded address space, renewed after some reports (WeasyPrint holds on to font and
layout caches: a worker grew to 236 MiB after 100 reports), and a crash of one losing no
other report.

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
        self._handed = 0  # reports handed to the current pool
        self._alone: ProcessPoolExecutor | None = None  # reprints after a worker died
        self._one_at_a_time: asyncio.Lock | None = None

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """End the worker processes (a print under way is waited for)."""
        for pool in (self._pool, self._alone):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._alone = None
        self._one_at_a_time = None

    def _executor(self) -> ProcessPoolExecutor:
        """The pool to hand the next report to: a new one after ``reports_per_worker``
        reports a worker. (Not ``max_tasks_per_child``: on Python 3.11 the executor stopped
        replacing the workers that left, and the bench's 500 reports hung at 200.)"""
        if self._pool is not None and self._handed >= self.workers * self.reports_per_worker:
            self._pool.shutdown(wait=False)  # what it was given still prints; then it ends
            self._pool = None
        if self._pool is None:
            self._pool, self._handed = self._new(self.workers), 0
        self._handed += 1
        return self._pool

    def _new(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers,
            # spawn: a fork of a serving process would copy its threads' locks
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_memory,
            initargs=(self.memory_mb,),
        )

    def _renew(self, broken: ProcessPoolExecutor) -> None:
        """A dead worker breaks its whole executor: the next print starts a new one (only
        if ``broken`` is still the current one: a concurrent print may have renewed it)."""
        if self._pool is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def print_all(self, htmls: Mapping[K, str]) -> Printed[K]:
        """Every document's PDF, printed on all workers, a pool's worth of reports at a
        time (then new processes). When a worker dies, the reports that were printing with
        it are printed again one at a time, so only the one that kills its process fails."""
        done = Printed[K]({}, {})
        keys = list(htmls)
        wave = self.workers * self.reports_per_worker
        for first in range(0, len(keys), wave):
            self._print_wave({k: htmls[k] for k in keys[first : first + wave]}, done)
        return done

    def _print_wave(self, htmls: Mapping[K, str], done: Printed[K]) -> None:
        """At most one pool's worth of reports: one pool prints them all (handed out
        before it is renewed, so never more processes than workers at once)."""
        futures: dict[Future[bytes], K] = {}
        suspects: list[K] = []
        pool = self._executor()
        self._handed += len(htmls) - 1  # the whole wave counts against this pool
        for key, html in htmls.items():
            try:
                futures[pool.submit(self.job, html)] = key
            except BrokenProcessPool:  # a worker died while the others were handed out
                suspects.append(key)
        for future in as_completed(futures):
            key = futures[future]
            try:
                done.pdfs[key] = future.result()
            except BrokenProcessPool:
                suspects.append(key)
            except Exception as exc:  # the printer's own error: this report only
                done.failed[key] = PrintFailed(f"{type(exc).__name__}: {exc}")
        if suspects:
            self._renew(pool)
        for key in suspects:
            alone = self._executor()
            try:
                done.pdfs[key] = alone.submit(self.job, htmls[key]).result()
            except BrokenProcessPool:
                self._renew(alone)
                done.failed[key] = PrintFailed(_DIED.format(mb=self.memory_mb))
            except Exception as exc:
                done.failed[key] = PrintFailed(f"{type(exc).__name__}: {exc}")

    async def print(self, html: str) -> bytes:
        """One document's PDF, printed in a worker while the event loop goes on. When its
        worker dies, it is printed once more in a worker of its own, one report at a time:
        a report that kills its process fails alone, those printing beside it print."""
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, self.job, html)
        except BrokenProcessPool:
            self._renew(pool)
        except Exception as exc:
            raise PrintFailed(f"{type(exc).__name__}: {exc}") from exc
        if self._one_at_a_time is None:
            self._one_at_a_time = asyncio.Lock()
        async with self._one_at_a_time:
            alone = self._alone or self._new(1)
            self._alone = alone
            try:
                return await loop.run_in_executor(alone, self.job, html)
            except BrokenProcessPool:
                alone.shutdown(wait=False, cancel_futures=True)
                self._alone = None
                raise PrintFailed(_DIED.format(mb=self.memory_mb)) from None
            except Exception as exc:
                raise PrintFailed(f"{type(exc).__name__}: {exc}") from exc


_DIED = "the printing process died (over its {mb} MiB of memory, or a crash in the printer)"
