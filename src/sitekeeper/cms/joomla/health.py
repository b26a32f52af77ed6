"""Joomla's signs of health for the update checks (``cms.health_markers``).

Sources (joomla/joomla-cms 4.x/5.x, as ../shared/docs/updates-notes.md §4 cites them):
- templates/system/fatal-error.html: "Sorry, there was a problem we could not recover
  from." on an uncaught error;
- SiteApplication.php: an offline site answers 503 with the configured
  ``offline_message`` (default "This site is down for maintenance."); the flag is
  ``$offline`` in configuration.php, not a file, so only the 503 shows it from outside;
- a pending schema update shows only in the administrator (``maintenance:database``):
  nothing to see without a login.
Extensions spread over several folders (component, media, language), so an extension's
rollback restores the whole docroot. Not yet verified against a real Joomla update.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JoomlaHealth:
    """Joomla's markers (see the module's sources)."""

    login_path: str = "administrator/"
    fatal_texts: tuple[str, ...] = ("Sorry, there was a problem we could not recover from",)
    maintenance_texts: tuple[str, ...] = ("This site is down for maintenance",)
    maintenance_status: int = 503
    db_update_path: str | None = None
    db_update_signs: tuple[str, ...] = ()
    maintenance_files: tuple[str, ...] = ()
    extension_dirs: tuple[tuple[str, str], ...] = ()


HEALTH = JoomlaHealth()
