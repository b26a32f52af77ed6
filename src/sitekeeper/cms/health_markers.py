"""What a site's health looks like to its CMS: the facts a health check needs.

An update is judged from outside (the pages visitors and editors load) and from inside
(the flags the CMS's updater leaves behind). Where the login page is, what the CMS prints
when it fatals or is in maintenance, how a pending database update shows, and which
folder holds an extension are facts of one CMS, so each CMS package declares them (its
``health`` module) and the generic health check and rollback (``updates``) take them as
a parameter, never naming a CMS.
"""

from __future__ import annotations

from typing import Protocol


class HealthMarkers(Protocol):
    """One CMS's signs of a healthy, broken or half-updated site."""

    @property
    def login_path(self) -> str:
        """The login page, relative to the site's home (``wp-login.php``)."""
        ...

    @property
    def fatal_texts(self) -> tuple[str, ...]:
        """What the CMS's own error page prints when PHP fatals (any one is a failure)."""
        ...

    @property
    def maintenance_texts(self) -> tuple[str, ...]:
        """What the CMS prints while it is in maintenance (any one is a failure)."""
        ...

    @property
    def maintenance_status(self) -> int:
        """The status the CMS answers with in maintenance (503 for all three)."""
        ...

    @property
    def db_update_path(self) -> str | None:
        """A page that shows, without logging in, whether a database update is pending
        (None: the CMS shows it only after a login; checked from inside instead)."""
        ...

    @property
    def db_update_signs(self) -> tuple[str, ...]:
        """Text in that page's redirect target or body that means "database update
        required"."""
        ...

    @property
    def maintenance_files(self) -> tuple[str, ...]:
        """Files, relative to the docroot, whose presence puts the site in maintenance
        (rollback removes them; the inside check fails while one exists)."""
        ...

    @property
    def extension_dirs(self) -> tuple[tuple[str, str], ...]:
        """(extension type, folder relative to the docroot) for types that live in one
        folder named by their slug; a rollback of such an extension restores only that
        folder. Types not listed (core, extensions spread over several folders) roll back
        the whole docroot."""
        ...
