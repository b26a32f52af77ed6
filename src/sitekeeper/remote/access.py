"""How to reach a site over SSH, and the validator of SSH hosts and users.

The model and the validator live in ``domain.ssh_access`` (pure, so the store's
site import can use them too); the remote layer re-exports them so callers of
``remote`` need one import and there is exactly one definition of each.
"""

from __future__ import annotations

from sitekeeper.domain.ssh_access import (
    SshAccess,
    parse_ssh_target,
    validate_ssh_host,
    validate_ssh_user,
)

__all__ = ["SshAccess", "parse_ssh_target", "validate_ssh_host", "validate_ssh_user"]
