"""The CMS registry: kind -> the one :class:`~sitekeeper.cms.protocol.Cms` object of that CMS.

Detection, inventories, feed polls and backups look CMSes up here
(``CMSES.get(site.cms)``, ``CMSES.items()``), never by importing a CMS package.
Adding a CMS also files the same object in the registries of the generic code
below ``cms`` that must not import it: the fingerprint's signals
(``probes.fingerprint.CMS_SIGNALS``) and the release files of hash learning
(``intel.release_files.RELEASE_FILES``) and the store's software index
(``store.inventories.CMS_SOFTWARE``). A CMS package, ours or a third party's,
writes one line: ``CMSES.add("kind", TheCms())``.
"""

from __future__ import annotations

from sitekeeper.cms.protocol import Cms
from sitekeeper.intel.release_files import RELEASE_FILES
from sitekeeper.plugins import Registry
from sitekeeper.probes.fingerprint import CMS_SIGNALS
from sitekeeper.store.inventories import CMS_SOFTWARE


class CmsRegistry(Registry[Cms]):
    """CMSes by kind; each one added is filed in the lower layers' registries too."""

    def add(self, kind: str, plugin: Cms) -> Cms:
        """File ``plugin`` under ``kind`` here and where the generic code looks for it."""
        super().add(kind, plugin)
        CMS_SIGNALS.add(kind, plugin)
        RELEASE_FILES.add(kind, plugin)
        CMS_SOFTWARE.add(kind, plugin)
        return plugin

    def remove(self, kind: str) -> None:
        """Forget ``kind`` everywhere it was filed."""
        super().remove(kind)
        CMS_SIGNALS.remove(kind)
        RELEASE_FILES.remove(kind)
        CMS_SOFTWARE.remove(kind)


CMSES = CmsRegistry("cms")
