"""WeasyPrint or headless Chromium for the client report's PDF: the same HTML printed by
both, each in a fresh process, measured for wall time, peak memory (the whole process
tree's RSS, sampled every 10 ms), output size, and fidelity read back with poppler: page
count, "Page N of M" footers (CSS margin boxes), the table of contents' page numbers
(``target-counter``), embedded fonts, and whether the charts stayed vectors.

    .venv/bin/python bench/sample_report.py --out /tmp/sample   # writes sample-report.html
    .venv/bin/python bench/report_pdf_engines.py /tmp/sample/sample-report.html --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import command_line

CHROMIUM = "/usr/bin/chromium"
WEASYPRINT = (
    "import sys; from weasyprint import HTML; from weasyprint.urls import URLFetcher; "
    "HTML(string=open(sys.argv[1], encoding='utf-8').read(), "
    "url_fetcher=URLFetcher(allowed_protocols={'data'})).write_pdf(sys.argv[2])"
)


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            rss = Path(f"/proc/{current}/statm").read_text().split()[1]
        except OSError:
            continue
        total += int(rss) * 4096
    return total


def measured(argv: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak tree RSS and CPU seconds (the tree's, user + system) of one
    command: CPU time is what a loaded machine does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, peak, cpu


def chromium_argv(html: Path, pdf: Path, profile: Path) -> list[str]:
    """Print to PDF, confined like the update's screenshot (updates/screenshot.py): no
    network (every request to a closed proxy), a throw-away profile."""
    return [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),  # root: Chromium's sandbox refuses
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--proxy-server=http://127.0.0.1:9",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        html.as_uri(),
    ]


def poppler(tool: str, *args: str) -> str:
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def fidelity(pdf: Path) -> dict[str, object]:
    """What the PDF kept of the report's print design."""
    info = poppler("pdfinfo", str(pdf))
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])  # type: ignore[index]
    text = " ".join(poppler("pdftotext", "-layout", str(pdf), "-").split())
    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    images = poppler("pdfimages", "-list", str(pdf)).splitlines()[2:]
    contents = text[text.find("Contents") : text.find("Contents") + 800]
    return {
        "pages": pages,
        "A4": "(A4)" in info,
        "page N of M": f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text,
        "TOC page numbers": len(re.findall(r"northwind\.\w+\s+\d+\b", contents)) >= 8,
        "fonts embedded": bool(fonts) and all(" yes " in f"{line} " for line in fonts),
        "font names": sorted({line.split()[0].split("+")[-1] for line in fonts}),
        "images (logo only = 1)": len(images),
    }


def in_process(html: str) -> bytes:
    """The report's own path (sitekeeper.reports.pdf)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from sitekeeper.reports.pdf import html_to_pdf  # noqa: PLC0415

    return html_to_pdf(html)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the report's HTML (bench/sample_report.py)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"command: {command_line()}")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        engines = {
            "weasyprint": lambda n: [
                sys.executable,
                "-c",
                WEASYPRINT,
                str(args.html),
                str(out / f"w{n}.pdf"),
            ],
            "chromium": lambda n: chromium_argv(args.html, out / f"c{n}.pdf", out / f"profile{n}"),
        }
        html = args.html.read_text(encoding="utf-8")
        inside, cpu = [], []
        for _ in range(args.rounds):  # what the app does: WeasyPrint already imported
            start, used = time.perf_counter(), time.process_time()
            in_process(html)
            inside.append(time.perf_counter() - start)
            cpu.append(time.process_time() - used)
        print(
            f"weasyprint in-process: {statistics.median(inside):.2f} s wall, "
            f"{statistics.median(cpu):.2f} s CPU (medians of {args.rounds})"
        )
        for name, argv in engines.items():
            runs = [measured(argv(n)) for n in range(args.rounds)]
            pdf = out / f"{name[0]}0.pdf"
            print(
                f"{name}: {statistics.median(r[0] for r in runs):.2f} s wall, "
                f"{statistics.median(r[2] for r in runs):.2f} s CPU (medians of {args.rounds}), "
                f"peak RSS {max(r[1] for r in runs) / 2**20:.0f} MiB, "
                f"{pdf.stat().st_size / 1024:.0f} KiB, {fidelity(pdf)}"
            )


if __name__ == "__main__":
    main()
