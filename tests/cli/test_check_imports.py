"""`sitekeeper check --json` loads only what a check uses: start-up is most of a small
run's time (bench/check_oneshot.py measures it; this guards what it depends on)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Heavy packages a one-shot check of a plain-HTTP URL has no use for.
NOT_NEEDED = ("rich", "sqlalchemy", "alembic", "asyncssh", "fastapi", "uvicorn", "apprise")

PROGRAM = """
import sys
sys.argv = ["sitekeeper", "check", "--json", "http://127.0.0.1:1/"]
from sitekeeper.cli.main import main
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def test_a_json_check_imports_no_table_database_ssh_or_web_code(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEKEEPER_")}
    env["SITEKEEPER_HOME"] = str(tmp_path / "home")
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert '"error": "refused"' in run.stdout  # it did check
    loaded = run.stderr.splitlines()[-1].split()
    heavy = sorted({m.split(".")[0] for m in loaded} & set(NOT_NEEDED))
    assert heavy == []
    assert "cryptography.x509" not in loaded  # certificates are parsed for https only
    assert not (tmp_path / "home").exists()  # a bare URL creates no data directory
