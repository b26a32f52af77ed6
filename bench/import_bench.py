"""CSV import of 10,000 sites: first import and re-import (a no-op), SQLite or PostgreSQL.

python bench/import_bench.py [--database-url URL] [--rows 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import command_line

from sitekeeper.store import clients
from sitekeeper.store.database import Database
from sitekeeper.store.site_import import import_sites
from sitekeeper.vault import Vault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database_url or f"sqlite:///{tmp}/bench.db")
        vault = Vault.from_home(Path(tmp))
        with db.session() as s:
            clients.add_client(
                s,
                vault,
                name="Bench",
                email=None,
                language="en",
                alert_urls=[],
                notes=None,
                now=datetime.now(UTC),
            )
        rows = "\n".join(f"https://site{i}.example.com,,Bench,wp;fleet" for i in range(args.rows))
        text = "url,name,client,tags\n" + rows + "\n"
        figures = []
        for label in ("first import", "re-import (no change)"):
            started = time.perf_counter()
            with db.session() as s:
                import_sites(s, text, datetime.now(UTC), default_interval=300, base_dir=Path(tmp))
            figures.append((label, time.perf_counter() - started))
        print("command:", command_line())
        print(f"database: {db.dialect}, rows: {args.rows}")
        for label, seconds in figures:
            print(f"{label}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
