"""``sitekeeper report CLIENT -o FILE``: the report as the client gets it (HTML or PDF);
``sitekeeper branding show|set``: the agency's name, logo, colours and links."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import time_machine
from PIL import Image

from tests.cli.conftest import Run, as_json
from tests.cli.test_report_cli import seeded
from tests.reports.seed import NOW


def test_report_to_html_and_pdf(run: Run, tmp_path: Path) -> None:
    seeded(run)
    run("branding", "set", "--name", "Pixel & Partner", "--public-url", "https://care.example/")
    html, pdf = tmp_path / "oct.html", tmp_path / "oct.pdf"
    with time_machine.travel(NOW, tick=False):
        wrote = run("report", "Bäckerei Müller", "--period", "2026-10", "-o", str(html))
        run("report", "Bäckerei Müller", "--period", "2026-10", "--format", "pdf", "-o", str(pdf))
    assert f"wrote {html}" in wrote.stderr and "warning" not in wrote.stderr
    page = html.read_text(encoding="utf-8")
    assert '<html lang="de">' in page and "Wartungsbericht" in page  # the client's language
    assert "Pixel &amp; Partner" in page and 'href="https://care.example/sites/' in page
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Alle 3 Websites waren" in " ".join(text.split())


def test_a_report_made_without_a_public_url_warns_that_its_links_lead_nowhere(
    run: Run, tmp_path: Path
) -> None:
    seeded(run)
    html = tmp_path / "oct.html"
    with time_machine.travel(NOW, tick=False):
        wrote = run("report", "Bäckerei Müller", "--period", "2026-10", "-o", str(html))
        figures = run("report", "Bäckerei Müller", "--period", "2026-10", "--json")
    assert "warning: no public address of the dashboard is set" in wrote.stderr
    assert "branding set --public-url" in wrote.stderr
    assert 'href="/sites/' in html.read_text(encoding="utf-8")  # what the warning is about
    assert "warning" not in figures.stderr  # figures have no links


def test_report_options_that_do_not_fit(run: Run, tmp_path: Path) -> None:
    seeded(run)
    bad = run("report", "Bäckerei Müller", "--format", "pdf", ok=False)
    assert bad.exit_code != 0 and "-o FILE" in bad.stderr
    bad = run("report", "Bäckerei Müller", "-o", str(tmp_path / "r.txt"), ok=False)
    assert "--format" in bad.stderr and not (tmp_path / "r.txt").exists()
    bad = run("report", "Bäckerei Müller", "--json", "-o", str(tmp_path / "r.pdf"), ok=False)
    assert "not both" in bad.stderr


def test_branding_set_and_show(run: Run, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (10, 80, 160)).save(buffer, "PNG")
    logo.write_bytes(buffer.getvalue())
    run("client", "list")
    shown = as_json(
        run(
            "branding",
            "set",
            "--name",
            "Pixel",
            "--primary",
            "#AA0000",
            "--logo",
            str(logo),
            "--json",
        )
    )
    assert shown["agency_name"] == "Pixel" and shown["primary"] == "#aa0000"
    assert shown["logo"] == {"type": "image/png", "bytes": len(buffer.getvalue())}
    kept = as_json(run("branding", "show", "--json"))
    assert kept == shown
    cleared = as_json(run("branding", "set", "--remove-logo", "--footer", "", "--json"))
    assert cleared["logo"] is None and cleared["agency_name"] == "Pixel"


def test_branding_refuses_what_a_report_must_not_carry(run: Run, tmp_path: Path) -> None:
    run("client", "list")
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    bad = run("branding", "set", "--logo", str(svg), ok=False)
    assert "PNG or JPEG" in bad.stderr
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert "PNG or JPEG" in run("branding", "set", "--logo", str(fake), ok=False).stderr
    big = tmp_path / "big.png"
    big.write_bytes(b"\x00" * (600 * 1024))
    assert "KiB" in run("branding", "set", "--logo", str(big), ok=False).stderr
    assert "colour" in run("branding", "set", "--accent", "red;}", ok=False).stderr
    url = run("branding", "set", "--public-url", "javascript:alert(1)", ok=False)
    assert "http(s)" in url.stderr
    assert as_json(run("branding", "show", "--json"))["logo"] is None  # nothing was kept
