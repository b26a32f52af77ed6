"""The report's HTML printed to an A4 PDF with WeasyPrint: CSS paged media (page numbers
from ``counter(pages)``, the table of contents' page numbers from ``target-counter``),
SVG charts drawn as vectors, fonts embedded (subsets of the Debian font packages the
stylesheet names). docs/architecture.md says why WeasyPrint rather than Chromium.

The document is self-contained; the fetcher refuses every URL but ``data:``, so a link or
an image a hostile string might smuggle in can never make the printer reach the network
or read a local file.
"""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML document."""
    from weasyprint import HTML  # noqa: PLC0415 - heavy: only when a PDF is asked for
    from weasyprint.urls import URLFetcher  # noqa: PLC0415

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    assert pdf is not None
    return bytes(pdf)
