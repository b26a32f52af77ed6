"""docs/cli.md is generated from the CLI itself and must match it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "typer sitekeeper.cli.main utils docs --name sitekeeper --output docs/cli.md"


def test_cli_reference_is_current(tmp_path: Path) -> None:
    typer_cli = shutil.which("typer", path=str(Path(sys.executable).parent))
    assert typer_cli is not None, "the typer command comes with the typer package"
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            typer_cli,
            "sitekeeper.cli.main",
            "utils",
            "docs",
            "--name",
            "sitekeeper",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, f"docs/cli.md is stale: run `{REGENERATE}`"
