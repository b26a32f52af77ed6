"""A real TUF repository for tests, made with python-tuf's metadata API and real signatures.

Its targets carry Joomla's ``custom`` update data (taken from the vendor's own
``tuf_targets.json``), so the poller verifies and parses exactly what Joomla serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]
from tuf.api.metadata import (  # type: ignore[attr-defined]
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tests.intel.samples import sample

ROLES = ("root", "timestamp", "snapshot", "targets")


def joomla_targets() -> dict[str, dict[str, Any]]:
    """The vendor's targets (file name -> length, hashes, custom) from the sample."""
    return dict(json.loads(sample("joomla/tuf_targets.json"))["signed"]["targets"])


@dataclass
class TufRepo:
    """Signed metadata files by name, ready to be served under ``/cms/``."""

    expires: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(days=7))
    signers: dict[str, CryptoSigner] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}

    def build(self, targets: dict[str, dict[str, Any]], *, version: int = 1) -> None:
        """(Re)write all four roles; ``version`` bumps targets/snapshot/timestamp."""
        root = Root(expires=self.expires, consistent_snapshot=False)
        for role, signer in self.signers.items():
            root.add_key(signer.public_key, role)
        files = [
            TargetFile(t["length"], t["hashes"], name, unrecognized_fields={"custom": t["custom"]})
            for name, t in targets.items()
        ]
        signed_targets = Targets(
            version=version, expires=self.expires, targets={f.path: f for f in files}
        )
        snapshot = Snapshot(
            version=version, expires=self.expires, meta={"targets.json": MetaFile(version)}
        )
        timestamp = Timestamp(
            version=version, expires=self.expires, snapshot_meta=MetaFile(version)
        )
        self.files = {
            "1.root.json": self._sign("root", root),
            "targets.json": self._sign("targets", signed_targets),
            "snapshot.json": self._sign("snapshot", snapshot),
            "timestamp.json": self._sign("timestamp", timestamp),
        }

    def _sign(self, role: str, signed: Root | Targets | Snapshot | Timestamp) -> bytes:
        metadata: Metadata[Any] = Metadata(signed)
        metadata.sign(self.signers[role])
        return metadata.to_bytes(JSONSerializer(compact=True))

    @property
    def root(self) -> bytes:
        return self.files["1.root.json"]
