"""Drupal's signs of health for the update checks (``cms.health_markers``).

Sources (drupal/core 10–11, as ../shared/docs/updates-notes.md §4 cites them):
- FinalExceptionSubscriber.php: an uncaught error answers 500 "The website encountered
  an unexpected error.";
- maintenance mode (the state ``system.maintenance_mode``, in the database, not a file)
  answers 503 "Site under maintenance";
- pending updates show only on ``/update.php`` after a login (``drush updatedb:status``
  from inside): nothing to see from outside.
Contributed modules and themes live in one folder each under ``modules/contrib`` and
``themes/contrib`` of the web root. Not yet verified against a real Drupal update.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DrupalHealth:
    """Drupal's markers (see the module's sources)."""

    login_path: str = "user/login"
    fatal_texts: tuple[str, ...] = ("The website encountered an unexpected error",)
    maintenance_texts: tuple[str, ...] = ("Site under maintenance",)
    maintenance_status: int = 503
    db_update_path: str | None = None
    db_update_signs: tuple[str, ...] = ()
    maintenance_files: tuple[str, ...] = ()
    extension_dirs: tuple[tuple[str, str], ...] = (
        ("module", "modules/contrib"),
        ("theme", "themes/contrib"),
    )


HEALTH = DrupalHealth()
