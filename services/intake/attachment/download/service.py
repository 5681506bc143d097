"""Who may fetch a stored photo or recording (附件), and the file itself.

The database is read in one short unit of work that is over before cases is asked about a department
caller (up to its timeout, 2 s): a burst of slow answers from cases holds no pooled connection."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.attachment import repository
from services.intake.attachment.download.clients import CaseAccessClient
from services.intake.attachment.download.exceptions import AttachmentNotFound
from services.intake.attachment.schemas import parse_sha256
from services.intake.attachment.storage import AttachmentStore
from services.intake.audit import service as audit
from shared.auth import Principal
from shared.db import Database

log = logging.getLogger("intake.attachment")

SCOPED_ROLES = ("dispatcher", "leader")
DEPARTMENT_ROLES = ("department_staff", "department_system")


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    filetype: str
    filename: str | None
    size: int


async def stored_file(
    db: Database, store: AttachmentStore, principal: Principal, sha256: str, cases: CaseAccessClient | None = None
) -> StoredFile:
    """The stored file, for those allowed to see a report that references it or a case it is a document
    of (else 404, never 403): a grid worker the files they sent themselves (a report naming a hash proves
    nothing); a dispatcher or leader files of reports in their area subtrees and documents of cases on
    them; department staff and systems files of cases whistled to their department (cases answers that;
    503 when it cannot); an admin all."""
    digest = parse_sha256(sha256)
    if digest is None:
        raise AttachmentNotFound()
    # Department staff and systems: only cases knows which cases were whistled to them.
    asks_cases = principal.role in DEPARTMENT_ROLES and bool(principal.department) and cases is not None
    async with db.unit_of_work() as session:
        found = await repository.get_attachment(session, digest)
        if found is None:
            raise AttachmentNotFound()
        row = dict(found)
        vouching = await repository.vouching_reports(session, digest) if asks_cases else []
        granted = await repository.granted_cases(session, digest) if asks_cases else []
        visible = False if asks_cases else await _may_see_here(session, principal, digest)
    # the connection is back in the pool before cases is asked
    if asks_cases and cases is not None and (vouching or granted):
        visible = await cases.may_see(principal, vouching, granted)
    if not visible:
        raise AttachmentNotFound()
    path = store.blob_path(digest)
    if not path.is_file():
        log.error("attachment %s is recorded but its file is missing", digest)
        raise AttachmentNotFound()
    async with db.unit_of_work() as session:  # who took the file out: the audit log (six months at least)
        await audit.record(session, principal, "download_attachment", "attachment", digest)
    return StoredFile(path=path, sha256=digest, filetype=row["filetype"], filename=row["filename"], size=row["size"])


async def _may_see_here(session: AsyncSession, principal: Principal, digest: str) -> bool:
    """Callers intake decides for from its own tables."""
    if principal.role == "admin":
        return True
    if principal.role == "grid_worker":
        return await repository.worker_may_see(session, digest, principal.subject)
    if principal.role in SCOPED_ROLES:
        return await repository.area_may_see(session, digest, principal.areas) or await repository.granted_to_areas(
            session, digest, principal.areas
        )
    return False
