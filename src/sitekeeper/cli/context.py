"""Per-invocation state: settings, database and vault, opened only when a command needs them.

``--help`` and usage errors never touch the disk; the first real command
creates the data directory and migrates the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sitekeeper.errors import ConfigError

# The database layer and settings load on first use: commands that need
# neither (help, bare URL checks) start faster.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sitekeeper.config import Settings
    from sitekeeper.store.database import Database
    from sitekeeper.vault import Vault


@dataclass
class AppContext:
    """What commands share; ``data_dir`` is the global ``--data-dir`` (wins over the env)."""

    data_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)
    _vault: Vault | None = field(default=None, repr=False)
    _home_secured: bool = field(default=False, repr=False)

    @property
    def settings(self) -> Settings:
        """Settings from the environment, with ``--data-dir`` as the home; ConfigError if bad."""
        if self._settings is None:
            from sitekeeper.config import load_settings  # noqa: PLC0415 - lazy, see above

            home = self.data_dir.expanduser().resolve() if self.data_dir else None
            self._settings = load_settings(home=home)
        return self._settings

    def _secure_home(self) -> None:
        """Create the data directory private, or fix an existing one (with a warning)."""
        if self._home_secured:
            return
        from sitekeeper import datadir  # noqa: PLC0415 - lazy, see above

        home = self.settings.home
        try:
            datadir.secure(home)
        except OSError as exc:  # e.g. an unwritable --data-dir
            raise ConfigError(f"data directory {home}: {exc}") from None
        self._home_secured = True

    @property
    def db(self) -> Database:
        """The database, migrated on first use."""
        if self._db is None:
            self._secure_home()
            from sqlalchemy.exc import ArgumentError  # noqa: PLC0415 - lazy, see above

            from sitekeeper.store.database import Database  # noqa: PLC0415

            url = self.settings.resolved_database_url
            try:
                self._db = Database(url)
            except ArgumentError as exc:
                raise ConfigError(f"invalid SITEKEEPER_DATABASE_URL: {exc}") from None
            except OSError as exc:  # e.g. an unwritable --data-dir
                raise ConfigError(f"data directory {self.settings.home}: {exc}") from None
        return self._db

    @property
    def vault(self) -> Vault:
        """The vault for secrets at rest (alert URLs)."""
        if self._vault is None:
            self._secure_home()
            from sitekeeper.vault import Vault  # noqa: PLC0415 - lazy, see above

            s = self.settings
            try:
                self._vault = Vault.from_home(s.home, s.secret_key)
            except OSError as exc:
                raise ConfigError(f"secret key in {s.home}: {exc}") from None
        return self._vault

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed if the command succeeds, rolled back otherwise."""
        with self.db.session() as session:
            yield session

    @property
    def default_interval(self) -> int:
        """Check interval for sites without a plan."""
        return self.settings.default_check_interval

    @staticmethod
    def now() -> datetime:
        """The current time, aware UTC."""
        return datetime.now(UTC)

    def close(self) -> None:
        """Release the database connections."""
        if self._db is not None:
            self._db.dispose()
            self._db = None


def app_context(ctx: typer.Context) -> AppContext:
    """The root command's ``AppContext``."""
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj
