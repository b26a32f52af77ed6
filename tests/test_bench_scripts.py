"""Every benchmark script still starts: its imports (of the product and of the test
helpers it borrows) resolve and its options parse. A refactoring that moves a helper
breaks a bench silently otherwise, since nothing runs the benches in CI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))
GENERATORS = {"sample_report.py"}  # they make a file for docs/, no figures


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


@pytest.mark.parametrize(
    "script", [p for p in SCRIPTS if p.name not in GENERATORS], ids=lambda p: p.name
)
def test_a_bench_prints_the_command_that_made_its_figures(script: Path) -> None:
    """bench/README.md: figures come with the exact command, as _common.command_line() says it."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    imported = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "_common"
        and "command_line" in {alias.name for alias in node.names}
        for node in ast.walk(tree)
    )
    printed = any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
        and any(
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "command_line"
            for inner in ast.walk(node)
        )
        for node in ast.walk(tree)
    )
    assert imported and printed, f"{script.name} does not print _common.command_line()"
