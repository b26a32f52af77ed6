"""A verified zip re-packed as a tar for the site: ``tar`` is on every server, ``unzip``
is not, and a tar made here carries no owners or modes a vendor chose (files 0644,
folders 0755; executables 0755 where asked, as a Composer build's ``vendor/bin`` needs), so
what lands on the site is only the verified bytes."""

from __future__ import annotations

import io
import tarfile
import zipfile


def as_tar(archive: bytes, top: str = "", *, keep_exec: bool = False) -> bytes:
    """The zip's files under ``top/`` (every file when ``top`` is "") as a tar
    (``keep_exec``: a file the zip marks executable stays so)."""
    out = io.BytesIO()
    prefix = f"{top}/" if top else ""
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as opened,
        tarfile.open(fileobj=out, mode="w") as tar,
    ):
        for info in opened.infolist():
            if not info.filename.startswith(prefix) or not info.filename.rstrip("/"):
                continue
            entry = tarfile.TarInfo(info.filename.rstrip("/"))
            if info.is_dir():
                entry.type, entry.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(entry)
            else:
                data = opened.read(info)
                executable = keep_exec and (info.external_attr >> 16) & 0o111
                entry.size, entry.mode = len(data), 0o755 if executable else 0o644
                tar.addfile(entry, io.BytesIO(data))
    return out.getvalue()
