"""Advisory formats besides OSV: each vendor's own feed, recognised from its content.

OSV is read by ``intel.osv`` for every ecosystem; a CMS whose vendor publishes in
a format of its own (a security-centre RSS, a commercial feed) files a reader
here from its package, and the importer tries each in turn, naming none.
"""

from __future__ import annotations

from typing import Protocol

from sitekeeper.domain.advisory import Advisory
from sitekeeper.plugins import Registry


class AdvisoryFormat(Protocol):
    """One vendor feed format."""

    @property
    def name(self) -> str:
        """What the format is called in an error listing the formats we read."""
        ...

    def read(self, data: bytes, body: object | None, max_bytes: int) -> list[Advisory] | None:
        """The advisories of ``data`` if it is in this format, else None. ``body``: the
        document's JSON (None when it is not JSON, e.g. XML); InvalidFeed if it is this
        format but broken."""
        ...


ADVISORY_FORMATS: Registry[AdvisoryFormat] = Registry(
    "advisory-formats", builtins=("sitekeeper.cms",)
)
