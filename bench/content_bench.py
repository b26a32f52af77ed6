"""The content probe's HTML parsing on 1 MB hostile pages, and a whole probe of wp3.

Why lxml: each crafted page (unclosed tags, open comments, formatting-element soup) is
parsed by the standard library's ``html.parser``, selectolax's Lexbor (when installed)
and ``read_page`` (lxml), each with a deadline per page, and a real WordPress home page
(wp3's, when it answers) is parsed for the everyday cost. Then wp3 is probed twice
(baselines, then compared) with one ``ContentProbe``.

    .venv/bin/python bench/content_bench.py [--deadline 20] [--url http://127.0.0.1:8083/]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
import urllib.request
from collections.abc import Callable
from html.parser import HTMLParser

from _common import command_line

from sitekeeper.probes.content.page_facts import read_page
from sitekeeper.probes.content.probe import ContentProbe, Known

SIZE = 1_000_000
PAGES = {
    "unclosed <div>": "<div>" * 200_000,
    "open '<a '": "<a " * 333_000,
    "unclosed <a href>": '<a href="http://x.test/">x' * 40_000,
    "<table><tr><td> nesting": "<table><tr><td>" * 70_000,
    "<b><i> nesting": "<b><i>" * 100_000,
    "<p><font><b><i><a> soup": "<p><font><b><i><a>" * 50_000,
    "open comments": "<!--" * 250_000,
    "attribute soup": "<p " + 'a="b" ' * 170_000 + ">",
}


def _stdlib(page: str) -> None:
    parser = HTMLParser()
    parser.feed(page)
    parser.close()


def _lexbor(page: str) -> None:
    from selectolax.lexbor import LexborHTMLParser  # noqa: PLC0415 - optional, not a dependency

    tree = LexborHTMLParser(page)
    tree.css("a")
    if tree.body is not None:
        tree.body.text()


def _lxml(page: str) -> None:
    read_page(page.encode(), "http://site.test/")


def _timed(parse: Callable[[str], None], page: str, queue: multiprocessing.Queue[float]) -> None:
    started = time.perf_counter()
    parse(page)
    queue.put(time.perf_counter() - started)


def measure(parse: Callable[[str], None], page: str, deadline: float) -> str:
    """Seconds one parse took, in a child process killed at ``deadline``."""
    queue: multiprocessing.Queue[float] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_timed, args=(parse, page, queue))
    child.start()
    child.join(deadline)
    if child.is_alive():
        child.kill()
        child.join()
        return f"> {deadline:g} s"
    return f"{queue.get():.3f} s" if not queue.empty() else "failed"


async def probe_twice(url: str) -> list[str]:
    rows = []
    known: Known | None = None
    async with ContentProbe() as probe:
        for run in ("first (baselines)", "second (compared)"):
            started = time.perf_counter()
            cpu = time.process_time()
            result = await probe.probe_content(url, known)
            known = Known(pages=result.snapshots, sitemap=None)
            report = result.report
            rows.append(
                f"| {run} | {len(report.pages)} | {report.requests} | "
                f"{time.perf_counter() - started:.2f} s | {time.process_time() - cpu:.2f} s | "
                f"{len(report.issues)} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=20.0)
    parser.add_argument("--url", default="http://127.0.0.1:8083/")
    args = parser.parse_args()
    print(command_line())
    parsers = {"html.parser": _stdlib, "selectolax (Lexbor)": _lexbor, "lxml (read_page)": _lxml}
    try:
        with urllib.request.urlopen(args.url, timeout=10) as answer:
            PAGES["a real WordPress home page"] = answer.read().decode()
    except OSError as exc:
        print(f"(no real page: {exc})")
    print("| page (1 MB) | " + " | ".join(parsers) + " |")
    print("|---|" + "---|" * len(parsers))
    for name, page in PAGES.items():
        cells = [measure(parse, page[:SIZE], args.deadline) for parse in parsers.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print("| run | pages | requests | wall | CPU | issues |")
    print("|---|---|---|---|---|---|")
    for row in asyncio.run(probe_twice(args.url)):
        print(row)


if __name__ == "__main__":
    main()
