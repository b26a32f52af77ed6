"""The report's PDF, read back with poppler: A4 pages that are not blank (pdftoppm), the
summary sentence and "Page 1 of N" in English and German (pdftotext), every font embedded
(pdffonts), the chart drawn as vectors (no image in the PDF but the logo: pdfimages), and
the table of contents' page numbers."""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import threading
from pathlib import Path

import pytest
from PIL import Image

from sitekeeper.reports import branding
from sitekeeper.reports.document import RenderedReport, summary_text
from sitekeeper.reports.pdf import html_to_pdf
from sitekeeper.store.database import Database
from tests.reports.seed import seed
from tests.reports.test_document import rendered, set_language


def poppler(tool: str, *args: str) -> str:
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def text_of(pdf: Path) -> str:
    return " ".join(poppler("pdftotext", "-layout", str(pdf), "-").replace("\xa0", " ").split())


def written(report: RenderedReport, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(report.pdf())
    return path


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_pdf_reads_back(sqlite_db: Database, tmp_path: Path, language: str) -> None:
    ids = seed(sqlite_db)
    set_language(sqlite_db, ids, language)
    report = rendered(sqlite_db, ids)
    pdf = written(report, tmp_path, language)
    assert pdf.read_bytes().startswith(b"%PDF-")

    info = poppler("pdfinfo", str(pdf))
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])  # type: ignore[index]
    assert pages >= 4  # the first page, the contract, a page per site
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)

    poppler("pdftoppm", "-r", "40", "-f", "1", "-l", "2", "-png", str(pdf), str(tmp_path / "p"))
    shots = sorted(tmp_path.glob("p-*.png"))
    assert len(shots) == 2
    for shot in shots:
        with Image.open(shot) as image:
            grey = image.convert("L")
            dark = sum(grey.histogram()[:200])  # pixels clearly not white
            assert dark > grey.width * grey.height // 100, f"{shot.name} is blank"

    text = text_of(pdf)
    assert summary_text(report.figures, language).replace("\xa0", " ") in text
    counter = "Page 1 of" if language == "en" else "Seite 1 von"
    assert f"{counter} {pages}" in text

    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(re.search(r"\byes\b", line.split(None, 1)[1]) for line in fonts)
    assert "DejaVu" in "".join(fonts)
    assert poppler("pdfimages", "-list", str(pdf)).splitlines()[2:] == []  # charts: vectors


def test_the_logo_and_a_table_of_contents(sqlite_db: Database, tmp_path: Path) -> None:
    ids = seed(sqlite_db)
    set_language(sqlite_db, ids, "en")
    with sqlite_db.session() as session:
        branding.save(
            session,
            {"agency_name": "Pixel & Partner", "footer": "Pixel & Partner GmbH · Berlin"},
            logo=png(300, 90),
        )
    pdf = written(rendered(sqlite_db, ids, "2026-11"), tmp_path, "nov")  # four sites
    images = poppler("pdfimages", "-list", str(pdf)).splitlines()[2:]
    assert len(images) == 1 and images[0].split()[3:5] == ["300", "90"]
    text = text_of(pdf)
    assert "Pixel & Partner GmbH · Berlin" in text
    contents = text[text.index("Contents") : text.index("Page 1 of")]  # the first page's
    # Each site's line ends with the page it starts on (target-counter): that page is its.
    pages = dict(re.findall(r"\b(blog|shop|later|landing)\s+(\d+)\b", contents))
    assert set(pages) == {"blog", "shop", "later", "landing"}
    for name, number in pages.items():
        page = poppler("pdftotext", "-f", number, "-l", number, str(pdf), "-")
        assert f"https://{name}.example/" in page, (name, number)


def test_printing_fetches_nothing(tmp_path: Path) -> None:
    """Whatever the HTML names, the printer reads no URL but ``data:``: no request reaches
    a server on loopback, no local file is read into the PDF."""
    hits: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Count)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "secret.css"
    secret.write_text("body { background: red }")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        pdf = html_to_pdf(
            f'<link rel="stylesheet" href="{base}/style.css">'
            f'<link rel="stylesheet" href="{secret.as_uri()}">'
            f'<style>@import "{base}/imported.css"; p {{ background: url({base}/bg.png) }}</style>'
            f'<p>Hello</p><img src="{base}/logo.png"><img src="file:///etc/hostname">'
        )
    finally:
        server.shutdown()
        thread.join()
    assert pdf.startswith(b"%PDF-") and hits == []
    out = tmp_path / "p.pdf"
    out.write_bytes(pdf)
    assert poppler("pdfimages", "-list", str(out)).splitlines()[2:] == []
    poppler("pdftoppm", "-r", "20", "-png", "-singlefile", str(out), str(tmp_path / "p"))
    with Image.open(tmp_path / "p.png") as page:
        red = [c for _, c in page.convert("RGB").getcolors(1 << 16) or [] if c == (255, 0, 0)]
    assert red == []  # the local style sheet was not read
