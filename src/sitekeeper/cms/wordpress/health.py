"""WordPress's signs of health for the update checks (``cms.health_markers``).

Sources (WordPress 6.1–6.9, wp-includes/ and wp-admin/):
- class-wp-fatal-error-handler.php: a fatal answers 500 with "There has been a critical
  error on this website." (the recovery-mode variant adds a sentence after it);
- load.php ``wp_maintenance()``: ``ABSPATH/.maintenance`` answers 503, "Briefly
  unavailable for scheduled maintenance. Check back in a minute." (ignored after 10 min);
- admin.php: while ``db_version`` is behind ``$wp_db_version``, ``/wp-admin/`` redirects
  to ``upgrade.php`` before asking for a login; upgrade.php's title is "Database Update
  Required" (checked on 6.1.9's admin.php, line 50).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WordPressHealth:
    """WordPress's markers (see the module's sources)."""

    login_path: str = "wp-login.php"
    fatal_texts: tuple[str, ...] = ("There has been a critical error on this website",)
    maintenance_texts: tuple[str, ...] = ("Briefly unavailable for scheduled maintenance",)
    maintenance_status: int = 503
    db_update_path: str | None = "wp-admin/"
    db_update_signs: tuple[str, ...] = ("wp-admin/upgrade.php", "Database Update Required")
    maintenance_files: tuple[str, ...] = (".maintenance",)
    extension_dirs: tuple[tuple[str, str], ...] = (
        ("plugin", "wp-content/plugins"),
        ("theme", "wp-content/themes"),
    )


HEALTH = WordPressHealth()
