"""The CLI's actions over HTTP: check, fingerprint, inventory, back up, drill, restore,
poll feeds, import advisories (queued tasks, 202) and import sites (synchronous).

Staff only; a client user gets 404 for every route here. Each action queues
the task kind the matching CLI command's code runs in (``engine.actions``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from sitekeeper.engine.actions.backups import DrillParams, RestoreParams
from sitekeeper.engine.actions.intel import upload_dir
from sitekeeper.errors import UsageError
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store.site_import import ImportRejected, import_rows, import_sites
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.api.task_schemas import AdvisoryUrlIn, SiteImportIn, SiteImportOut
from sitekeeper.web.api.tasks import ACCEPTED, accept, accepted
from sitekeeper.web.auth import Staff, Viewer, database, now
from sitekeeper.web.common import Db, Id, queue_task, vault_of, visible_site

router = APIRouter(prefix="/api", tags=["actions"], responses=ERRORS | ACCEPTED)

_CHUNK = 1024 * 1024


@router.post("/sites/{site_id}/check", status_code=202, response_model=None)
def check(site_id: Id, request: Request, session: Db, who: Staff) -> JSONResponse:
    """Check the site now (``sitekeeper check SITE``); the result is recorded like a scheduled
    check's (a failure is confirmed, incidents open and close, alerts go out)."""
    site = visible_site(session, who, site_id)
    return accept(request, session, who, "check", site=site)


@router.post("/sites/{site_id}/fingerprint", status_code=202, response_model=None)
def fingerprint(site_id: Id, request: Request, session: Db, who: Staff) -> JSONResponse:
    """Tell which CMS and version the site runs, from outside (``sitekeeper fingerprint``)."""
    site = visible_site(session, who, site_id)
    return accept(request, session, who, "fingerprint", site=site)


@router.post("/sites/{site_id}/inventory", status_code=202, response_model=None)
def inventory(site_id: Id, request: Request, session: Db, who: Staff) -> JSONResponse:
    """Read the site's software over SSH (``sitekeeper inventory``)."""
    site = visible_site(session, who, site_id)
    return accept(request, session, who, "inventory", site=site)


@router.post("/sites/{site_id}/backups", status_code=202, response_model=None)
def backup(site_id: Id, request: Request, session: Db, who: Staff) -> JSONResponse:
    """Back the site up now (``sitekeeper backup SITE``)."""
    site = visible_site(session, who, site_id)
    return accept(request, session, who, "backup", site=site)


@router.post("/sites/{site_id}/drills", status_code=202, response_model=None)
def drill(
    *,
    site_id: Id,
    request: Request,
    session: Db,
    who: Staff,
    body: Annotated[DrillParams | None, Body()] = None,
) -> JSONResponse:
    """Restore drill of a snapshot, default the latest (``sitekeeper drill``)."""
    site = visible_site(session, who, site_id)
    params = body.model_dump(exclude_none=True) if body else {}
    return accept(request, session, who, "drill", site=site, params=params)


@router.post("/sites/{site_id}/restore", status_code=202, response_model=None)
def restore(
    *,
    site_id: Id,
    request: Request,
    session: Db,
    who: Staff,
    body: Annotated[RestoreParams | None, Body()] = None,
) -> JSONResponse:
    """Restore a snapshot into a new directory under the data directory's ``restores/``,
    or back onto the site with ``in_place`` (administrators only; a safety snapshot is
    taken first)."""
    site = visible_site(session, who, site_id)
    params = body or RestoreParams()
    if params.in_place and not who.is_admin:
        raise HTTPException(403, "only administrators may restore onto a live site")
    return accept(
        request, session, who, "restore", site=site, params=params.model_dump(exclude_none=True)
    )


@router.post("/feeds/poll", status_code=202, response_model=None)
def feeds_poll(request: Request, session: Db, who: Staff) -> JSONResponse:
    """Poll the vendors' release feeds now (``sitekeeper feeds poll``)."""
    return accept(request, session, who, "feeds-poll", site=None)


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": AdvisoryUrlIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def _media_type(request: Request, allowed: tuple[str, ...]) -> str:
    """The request's media type; 415 unless it is one of ``allowed``."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in allowed:
        raise HTTPException(415, f"send {' or '.join(allowed)}")
    return media


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


async def _read_body(request: Request, cap: int) -> bytes:
    """The request body, refused (413) past ``cap`` bytes, however it is sent."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise HTTPException(413, f"the request body is over {cap} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise HTTPException(413, f"the request body is over {cap} bytes")
    return bytes(body)


def _save_upload(source: UploadFile, directory: Path, cap: int) -> str:
    """Copy an uploaded file into ``directory`` under a random name; 413 past ``cap``."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{secrets.token_hex(16)}.upload"
    path = directory / name
    written = 0
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        while chunk := source.file.read(_CHUNK):
            written += len(chunk)
            if written > cap:
                out.close()
                path.unlink(missing_ok=True)
                raise HTTPException(413, f"the file is over {cap} bytes")
            out.write(chunk)
    return name


def _queue_in_own_session(
    request: Request, who: Viewer, kind: str, params: dict[str, Any]
) -> JSONResponse:
    with database(request).session() as session:
        task = queue_task(request, session, who, kind, site=None, params=params)
        return accepted(task, None)


@router.post("/advisories/import", status_code=202, response_model=None, openapi_extra=_UPLOAD_BODY)
async def advisories_import(request: Request, who: Staff) -> JSONResponse:
    """Import OSV, Wordfence or Joomla advisories (``sitekeeper advisories import``): a file
    uploaded as multipart/form-data (field ``file``), or JSON ``{"url": "https://…"}``."""
    settings = request.app.state.settings
    if _media_type(request, ("multipart/form-data", "application/json")) != "application/json":
        # the body's size was checked as it streamed in (web.gate, max_upload_bytes); the
        # file inside it is checked again as it is written
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "send the advisories as the multipart field `file`")
        directory = upload_dir(settings.home)
        name = await run_in_threadpool(_save_upload, upload, directory, settings.max_upload_bytes)
        params: dict[str, Any] = {"upload": name}
    else:
        try:
            found = AdvisoryUrlIn.model_validate_json(await _read_body(request, 64_000))
        except ValidationError as exc:
            raise _invalid(exc) from None
        params = {"url": found.url}
    return await run_in_threadpool(_queue_in_own_session, request, who, "advisories-import", params)


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": SiteImportIn.model_json_schema()},
        },
    }
}


def _cell(value: str | int | list[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(v.strip() for v in value)
    return str(value).strip()


def _run_import(request: Request, body: bytes, as_json: bool, dry_run: bool) -> SiteImportOut:
    settings = request.app.state.settings
    # A `key` names a stored key of the row's client or carries the private key itself
    # (kept encrypted); never a file on this server (no read_key_files).
    options: dict[str, Any] = {
        "default_interval": settings.default_check_interval,
        "base_dir": settings.home,
        "vault": vault_of(request),
        "check_config": ProbeSet().config,
    }
    with database(request).session() as session:
        if as_json:
            try:
                parsed = SiteImportIn.model_validate_json(body)
            except ValidationError as exc:
                raise _invalid(exc) from None
            rows = [
                (i, {k: _cell(getattr(item, k)) for k in sorted(item.model_fields_set)})
                for i, item in enumerate(parsed.sites, start=1)
            ]
            result = import_rows(
                session, rows, now(), dry_run=dry_run or parsed.dry_run, unit="item", **options
            )
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise UsageError("the CSV is not UTF-8") from None
            result = import_sites(session, text, now(), dry_run=dry_run, **options)
    return SiteImportOut(
        added=result.added,
        updated=result.updated,
        unchanged=result.unchanged,
        dry_run=result.dry_run,
        added_names=result.added_names,
        updated_names=result.updated_names,
    )


@router.post(
    "/sites/import",
    response_model=SiteImportOut,
    tags=["sites"],
    openapi_extra=_IMPORT_BODY,
    responses={413: ERRORS[422] | {"description": "Body too large"}},
)
async def sites_import(
    request: Request,
    who: Staff,
    dry_run: Annotated[bool, Query(description="Validate and count, change nothing")] = False,
) -> SiteImportOut | JSONResponse:
    """Add or update sites from CSV (``text/csv``, as ``sitekeeper site import``) or JSON,
    all or none; every bad row is reported (``error.problems``) and nothing is imported."""
    as_json = _media_type(request, ("text/csv", "application/json")) == "application/json"
    body = await _read_body(request, request.app.state.settings.max_import_bytes)
    try:
        return await run_in_threadpool(_run_import, request, body, as_json, dry_run)
    except ImportRejected as exc:
        error = {"code": "invalid", "message": str(exc), "problems": exc.problems[:1000]}
        return JSONResponse({"error": error}, status_code=422)
