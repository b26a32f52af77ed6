"""The built-in backup targets: restic repositories on a local path, over SFTP, on S3.

Each is a ``BackupTarget`` (``backup.registry``) registered under its
repository kind; ``RepositoryConfig`` holds the operator's settings and asks
its kind's target what they mean to restic.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from sitekeeper.backup.registry import BACKUP_TARGETS
from sitekeeper.backup.repository import RepositoryConfig
from sitekeeper.domain.ssh_access import parse_ssh_target
from sitekeeper.errors import UsageError


class LocalTarget:
    """A repository in a directory of this machine (or a mounted share)."""

    def check(self, config: RepositoryConfig) -> None:
        if not Path(config.location).is_absolute():
            raise ValueError("a local repository needs an absolute path")

    def repository_string(self, config: RepositoryConfig) -> str:
        return config.location

    def environment(self, config: RepositoryConfig) -> dict[str, str]:
        return {}

    def extra_args(self, config: RepositoryConfig) -> tuple[str, ...]:
        return ()


class SftpTarget:
    """``user@host:/path`` over SFTP, with our key and known_hosts only."""

    def check(self, config: RepositoryConfig) -> None:
        if ":" not in config.location:
            raise ValueError("an SFTP repository is user@host:/path")
        try:  # host and user as for a site: never an ssh option
            parse_ssh_target(config.location.partition(":")[0])
        except UsageError as exc:
            raise ValueError(str(exc)) from None

    def repository_string(self, config: RepositoryConfig) -> str:
        return f"sftp:{config.location}"

    def environment(self, config: RepositoryConfig) -> dict[str, str]:
        return {}

    def extra_args(self, config: RepositoryConfig) -> tuple[str, ...]:
        """restic's ``sftp.command``: never the user's ssh config."""
        target, _, _path = config.location.partition(":")
        argv = ["ssh", "-F", "/dev/null", "-p", str(config.sftp_port), "-o", "BatchMode=yes"]
        if config.sftp_key_path:
            argv += ["-i", config.sftp_key_path, "-o", "IdentitiesOnly=yes"]
        if config.sftp_known_hosts:
            argv += ["-o", f"UserKnownHostsFile={config.sftp_known_hosts}"]
            argv += ["-o", "StrictHostKeyChecking=yes"]
        argv += ["-s", "--", target, "sftp"]  # "--": the target is never read as an option
        return ("-o", f"sftp.command={shlex.join(argv)}")


class S3Target:
    """An S3-compatible bucket (AWS, MinIO, ...), keys passed in restic's environment."""

    def check(self, config: RepositoryConfig) -> None:
        if not (config.s3_access_key_id and config.s3_secret_access_key):
            raise ValueError("an S3 repository needs an access key id and a secret access key")

    def repository_string(self, config: RepositoryConfig) -> str:
        return f"s3:{config.location.removeprefix('s3:')}"

    def environment(self, config: RepositoryConfig) -> dict[str, str]:
        env: dict[str, str] = {}
        if config.s3_access_key_id:
            env["AWS_ACCESS_KEY_ID"] = config.s3_access_key_id
        if config.s3_secret_access_key:
            env["AWS_SECRET_ACCESS_KEY"] = config.s3_secret_access_key
        if config.s3_region:
            env["AWS_DEFAULT_REGION"] = config.s3_region
        return env

    def extra_args(self, config: RepositoryConfig) -> tuple[str, ...]:
        return ()


BACKUP_TARGETS.add("local", LocalTarget())
BACKUP_TARGETS.add("sftp", SftpTarget())
BACKUP_TARGETS.add("s3", S3Target())
