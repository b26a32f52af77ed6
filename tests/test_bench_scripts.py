"""Every benchmark script still starts: its imports (of the product and of the test
helpers it borrows) resolve and its options parse. A refactoring that moves a helper
breaks a bench silently otherwise, since nothing runs the benches in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


def test_there_are_benches() -> None:
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_bench_starts_and_says_how_to_run_it(script: Path) -> None:
    shown = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.startswith(f"usage: {script.name}")
