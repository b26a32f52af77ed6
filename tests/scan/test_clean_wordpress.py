"""No false alarm on a clean site: every PHP and JS file of the real WordPress releases
(Debian's 6.8 and 7.1, with their bundled plugin and theme) passes every rule above
"low", and none is left unscanned. A false alarm on a clean site is a bug."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from sitekeeper.scan.scanner import Scanner
from sitekeeper.scan.tree import code_file
from tests.updates.vendor import PACKAGES, need_packages


def _packages() -> list[Path]:
    """Read at collection: a missing folder fails (or skips) in the test below."""
    return sorted(PACKAGES.glob("wordpress-*.zip")) + sorted(
        p for p in PACKAGES.glob("*.zip") if not p.name.startswith("wordpress-")
    )


def test_both_wordpress_releases_are_there() -> None:
    need_packages()
    names = [p.name for p in _packages()]
    assert any(n.startswith("wordpress-6.8") for n in names)
    assert any(n.startswith("wordpress-7.1") for n in names)


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_no_rule_fires_above_low_on_a_clean_release(scanner: Scanner, package: Path) -> None:
    alarms: list[str] = []
    scanned = 0
    with zipfile.ZipFile(package) as archive:
        for entry in archive.infolist():
            if entry.is_dir() or not entry.filename.endswith((".php", ".js")):
                continue
            assert code_file(entry.filename)  # scan-files looks at them too
            result = scanner.scan_bytes(archive.read(entry), entry.filename)
            scanned += 1
            if result.not_scanned:
                alarms.append(f"{entry.filename}: not scanned: {result.not_scanned}")
            alarms += [
                f"{entry.filename}: {m.rule} ({m.severity}) {m.hits[0].snippet if m.hits else ''}"
                for m in result.matches
                if m.severity.rank > 1
            ]
    assert scanned >= (1000 if package.name.startswith("wordpress-") else 1)
    assert alarms == []
