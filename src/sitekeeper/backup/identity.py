"""A site's identity in a backup repository: the restic host its snapshots carry."""

from __future__ import annotations

HOST_PREFIX = "sitekeeper-"


def snapshot_host(backup_host: str) -> str:
    """The restic ``--host`` of a site's snapshots: retention and listings group by it.

    From ``Site.backup_host``, which no other site ever gets (``site-<uuid>``;
    sites made before it keep ``site-<id>``, the host their snapshots carry).
    """
    return f"{HOST_PREFIX}{backup_host}"


def backup_host_of(restic_host: str) -> str | None:
    """The ``Site.backup_host`` a restic host stands for; None if it is not one of ours."""
    return restic_host.removeprefix(HOST_PREFIX) if restic_host.startswith(HOST_PREFIX) else None
