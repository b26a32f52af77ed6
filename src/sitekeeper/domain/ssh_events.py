"""Journal event kinds of SSH access: keys kept for clients and host keys trusted or forgotten.

Kept beside ``domain.events``; never rename a stored kind.
"""

from __future__ import annotations

from enum import StrEnum


class SshEventKind(StrEnum):
    """What happened to how sitekeeper reaches a site's server."""

    KEY_IMPORTED = "ssh.key_imported"
    KEY_PATH_MIGRATED = "ssh.key_path_migrated"  # an old key_path was read into the store (or not)
    HOST_KEY_TRUSTED = "ssh.host_key_trusted"  # pinned by an operator before first use
    ACCESS_CHANGED = "ssh.access_changed"  # host, user, key, docroot or sudo user edited
    HOST_KEY_FORGOTTEN = "ssh.host_key_forgotten"  # the next connection learns the key again
