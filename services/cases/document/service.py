"""Case documents (案卷材料: 调解协议书, 司法确认书, 笔录, 照片 …): a file the caller uploaded through intake's
tus endpoint, attached to a case by a dispatcher of a centre on the case's path or staff of a department
whistled to it. Intake confirms the finished upload (over HTTP, with cases' service credential) and from
then on hands the file (`GET /v1/attachments/{sha256}` on intake) to whoever may see the case: centres
and leaders by the case's area path, departments as cases answers intake's case-access question. Listed
on the case as `documents`; each attachment is a timeline entry."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.case import service as case_service
from services.cases.case.exceptions import CaseNotFound
from services.cases.case.schemas import TimelineEntry
from services.cases.document import repository as repo
from services.cases.document.clients import AttachmentGrantClient
from services.cases.document.exceptions import DocumentsReadOnly
from services.cases.document.schemas import DocumentIn
from services.cases.idempotency.service import once
from services.cases.principal import actor_name
from shared.auth import Principal
from shared.clock import clock
from shared.contracts.attachments import AttachmentGrant
from shared.pii import PiiCipher

KIND_ZH = {
    "agreement": "调解协议书",
    "judicial_confirmation": "司法确认书",
    "record": "笔录",
    "photo": "照片",
    "other": "其他材料",
}
DOWNLOAD_PATH = "/v1/attachments/{sha256}"  # on intake


def document_out(d: Any) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "sha256": d.sha256,
        "kind": d.kind,
        "title": d.title,
        "filetype": d.filetype,
        "size": d.size,
        "filename": d.filename,
        "attached_by": d.attached_by,
        "attached_at": d.attached_at,
        "download": DOWNLOAD_PATH.format(sha256=d.sha256),
    }


async def documents_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Any]:
    return await repo.of_case(session, case_id)


async def attach(
    session: AsyncSession, grants: AttachmentGrantClient, principal: Principal, case_id: uuid.UUID, body: DocumentIn
) -> None:
    """Attach the caller's uploaded file to a case they may see and act on (404 out of scope, 403 for a
    leader); a file already attached to the case is left as it is."""
    scope = case_service.scope_of(principal)
    if not await case_service.any_of_cases_visible(session, [case_id], scope):
        raise CaseNotFound()
    if principal.role == "leader":
        raise DocumentsReadOnly()
    case = (await case_service.cases_by_ids(session, [case_id]))[case_id]
    actor = actor_name(principal)
    stored = await grants.grant(
        AttachmentGrant(
            sha256=body.sha256,
            case_id=case_id,
            area_path=list(case.area_path),
            uploader=principal.subject,
            granted_by=actor,
        )
    )
    locked = await case_service.lock_case(session, case_id)  # what hangs on a case is written under its lock
    if locked is None:
        raise CaseNotFound()
    now = clock.now()
    added = await repo.insert(
        session,
        {
            "id": uuid.uuid4(),
            "case_id": case_id,
            "sha256": stored.sha256,
            "kind": body.kind,
            "title": body.title,
            "filetype": stored.filetype,
            "size": stored.size,
            "filename": stored.filename,
            "attached_by": actor,
            "attached_at": now,
        },
    )
    if added:
        await case_service.add_timeline_entries(
            session,
            [
                TimelineEntry(
                    case_id,
                    now,
                    actor,
                    "document",
                    locked.state,
                    locked.state,
                    f"附加案卷材料：{KIND_ZH[body.kind]}《{body.title}》",
                    {"sha256": stored.sha256, "kind": body.kind},
                )
            ],
        )


async def attach_once(
    session: AsyncSession,
    grants: AttachmentGrantClient,
    cipher: PiiCipher,
    principal: Principal,
    case_id: uuid.UUID,
    body: DocumentIn,
    idempotency_key: str | None,
) -> Any:
    """POST /v1/cases/{id}/documents under Idempotency-Key; answers the case's JSON."""

    async def run() -> Any:
        await attach(session, grants, principal, case_id, body)
        return (await case_service.get_case(session, principal, case_id, cipher)).model_dump(mode="json")

    request = {"case": str(case_id), "document": body.model_dump(mode="json")}
    return await once(session, actor_name(principal), idempotency_key, request, run)
