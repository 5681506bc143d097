"""Photos and recordings (附件) that grid-worker phones upload over tus 1.0.0, and who may fetch them.

An upload is created with the whole file's declared sha256; each PATCH streams into its own chunk
file under a short lease on the upload and is appended when complete (no database connection is held
while a slow phone sends); the finished file must hash to the declared sha256, else the upload is
discarded. A verified file is stored content-addressed, so an identical photo is stored once.

Deduplication: when a file with the declared sha256 and length is already stored and the caller has
sent those bytes before, the new upload is created already finished (`Upload-Offset` = `Upload-Length`
in the creation answer and on HEAD), so a client that reads the offset skips sending. A client that
sends anyway (tus clients start at 0 after creation) gets 204 with the final offset and nothing is
written: a PATCH to a finished upload at any offset up to its length is acknowledged without storing
anything. Another worker who declares the
same sha256 sends the bytes like any upload (nothing is stored twice): a hash is no proof of having
the photo, and a finished upload is what lets a grid worker fetch a file.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.attachment import repository, signatures
from services.intake.attachment.exceptions import (
    ChecksumMismatch,
    ChunkExceedsUpload,
    DailyUploadQuotaExceeded,
    DocumentNotStored,
    DocumentTypeNotAllowed,
    EmptyUpload,
    FileContentMismatch,
    FileTypeUnsupported,
    LeaseLost,
    OffsetMismatch,
    Sha256Mismatch,
    UploadDataLost,
    UploadExpired,
    UploadFinished,
    UploadInProgress,
    UploadNotFound,
    UploadTooLarge,
)
from services.intake.attachment.schemas import UploadMetadata, UploadState
from services.intake.attachment.storage import (
    AttachmentStore,
    ChunkChecksum,
    ChunkChecksumMismatch,
    ChunkTooLarge,
    PartialLost,
    Received,
)
from services.intake.config import IntakeSettings
from shared.auth import Principal
from shared.clock import CHINA_TZ, clock
from shared.contracts.attachments import AttachmentGrant, GrantedFile, is_document_type
from shared.db import Database
from shared.errors import Problem

log = logging.getLogger("intake.attachment")

UPLOAD_TTL = timedelta(hours=24)
# who uploads over tus besides grid workers' phones: centre and department staff (case documents)
STAFF_UPLOADERS = ("dispatcher", "department_staff")
UPLOADERS = ("grid_worker", *STAFF_UPLOADERS)
# How long one PATCH may hold an upload before another PATCH may take it over (only matters when the
# process that streamed it died: a broken-off body gives the lease back at once).
PATCH_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Refused:
    """A refusal whose clean-up must still be committed: the route answers with `problem` without
    raising, so the transaction keeps the discard."""

    problem: Problem


@dataclass(frozen=True)
class UploadPolicy:
    """Limits of an upload, from the service's settings; a daily limit of 0 is no limit."""

    max_bytes: int
    types: frozenset[str]
    daily_count: int = 0  # uploads a worker may begin in one China-time day
    daily_bytes: int = 0  # and their declared bytes
    staff_types: frozenset[str] = frozenset()  # what centre and department staff may upload besides `types`

    def allowed(self, principal: Principal) -> frozenset[str]:
        """The types this caller may upload: a phone images and audio; staff also case documents (PDF)."""
        return self.types | self.staff_types if principal.role in STAFF_UPLOADERS else self.types

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> UploadPolicy:
        types = frozenset(t.strip().lower() for t in settings.attachment_types.split(",") if t.strip())
        staff = frozenset(t.strip().lower() for t in settings.document_types.split(",") if t.strip())
        return cls(
            max_bytes=settings.attachment_max_bytes,
            types=types,
            staff_types=staff,
            daily_count=settings.attachment_daily_count,
            daily_bytes=settings.attachment_daily_bytes,
        )


def _state(row: Mapping[str, Any]) -> UploadState:
    finished = row["completed_at"] is not None
    return UploadState(
        id=row["id"],
        offset=row["offset"],
        length=row["length"],
        expires_at=None if finished else row["expires_at"],
        metadata=UploadMetadata(sha256=row["sha256"], filetype=row["filetype"], filename=row["filename"]),
    )


async def _owned(session: AsyncSession, principal: Principal, upload_id: uuid.UUID, *, lock: bool) -> dict[str, Any]:
    """The caller's upload; someone else's is as unknown as a missing one."""
    row = await (repository.lock_upload if lock else repository.get_upload)(session, upload_id, principal.subject)
    if row is None:
        raise UploadNotFound()
    return dict(row)


# creation -------------------------------------------------------------------------------------


async def create_upload(
    session: AsyncSession,
    store: AttachmentStore,
    policy: UploadPolicy,
    principal: Principal,
    length: int,
    metadata: UploadMetadata,
) -> UploadState:
    if length > policy.max_bytes:
        raise UploadTooLarge(length, policy.max_bytes)
    if length == 0:
        raise EmptyUpload()
    if metadata.filetype not in policy.allowed(principal):
        raise FileTypeUnsupported(metadata.filetype, policy.allowed(principal))

    now = clock.now()
    await _within_daily_quota(session, policy, principal, length, now)
    stored = await repository.get_attachment(session, metadata.sha256)
    # Knowing a file's hash and size proves nothing: only a worker who has sent these bytes before
    # skips sending them; anyone else sends the file, which is verified and then stored once.
    already_stored = (
        stored is not None
        and stored["size"] == length
        and store.has_blob(metadata.sha256)
        and await repository.worker_sent(session, metadata.sha256, principal.subject)
    )
    upload_id = uuid.uuid4()
    await repository.insert_upload(
        session,
        {
            "id": upload_id,
            "worker_id": principal.subject,
            "length": length,
            "offset": length if already_stored else 0,
            "sha256": metadata.sha256,
            "filetype": metadata.filetype,
            "filename": metadata.filename,
            "created_at": now,
            "expires_at": now + UPLOAD_TTL,
            "completed_at": now if already_stored else None,
        },
    )
    return UploadState(
        id=upload_id,
        offset=length if already_stored else 0,
        length=length,
        expires_at=None if already_stored else now + UPLOAD_TTL,
        metadata=metadata,
    )


async def _within_daily_quota(
    session: AsyncSession, policy: UploadPolicy, principal: Principal, length: int, now: datetime
) -> None:
    """A worker begins at most `daily_count` uploads of at most `daily_bytes` declared bytes a China-time
    day (a phone in a loop, or a stolen token, cannot fill the disk). Creations of one worker take a
    lock in turn, so two at once cannot both slip under the limit."""
    if not policy.daily_count and not policy.daily_bytes:
        return
    local = now.astimezone(CHINA_TZ)
    day_start = datetime(local.year, local.month, local.day, tzinfo=CHINA_TZ)
    await repository.lock_worker_uploads(session, principal.subject)
    count, size = await repository.uploads_since(session, principal.subject, day_start)
    over = []
    if policy.daily_count and count + 1 > policy.daily_count:
        over.append(f"每天最多上传 {policy.daily_count} 个文件（今日已 {count} 个）")
    if policy.daily_bytes and size + length > policy.daily_bytes:
        over.append(f"每天最多上传 {policy.daily_bytes} 字节（今日已 {size} 字节，本文件 {length} 字节）")
    if over:
        retry_after = math.ceil(((day_start + timedelta(days=1)) - now).total_seconds())
        raise DailyUploadQuotaExceeded("；".join(over), max(retry_after, 1))


# offset ---------------------------------------------------------------------------------------


async def upload_state(session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> UploadState:
    row = await _owned(session, principal, upload_id, lock=False)
    if row["completed_at"] is None and row["expires_at"] <= clock.now():
        raise UploadExpired()
    return _state(row)


# chunks ---------------------------------------------------------------------------------------


async def append_chunk(
    db: Database,
    store: AttachmentStore,
    principal: Principal,
    upload_id: uuid.UUID,
    offset: int,
    content_length: int | None,
    checksum: ChunkChecksum | None,
    body: AsyncIterator[bytes],
    lease_for: timedelta = PATCH_LEASE,
) -> UploadState | Refused:
    """Append one PATCH body at `offset` in three steps, so a slow phone never holds a database
    connection while its bytes trickle in:

    1. a short transaction checks the offset and takes the upload's lease (a second PATCH while the
       lease is held gets 409);
    2. the body streams into its own chunk file with no connection held;
    3. a short transaction appends the chunk and records the new offset, only if this PATCH still
       holds the lease (a PATCH whose lease ran out and was taken over gets 409 and writes nothing).
    """
    lease = uuid.uuid4()
    async with db.unit_of_work() as session:
        row = await _owned(session, principal, upload_id, lock=True)
        if row["completed_at"] is not None:
            if offset > row["length"]:
                raise OffsetMismatch(offset, row["length"])
            return _state(row)  # already finished (deduplicated or a retried last chunk): nothing to write
        now = clock.now()
        if row["expires_at"] <= now:
            raise UploadExpired()
        if row["patching_until"] is not None and row["patching_until"] > now:
            raise UploadInProgress(row["offset"])
        if offset != row["offset"]:
            raise OffsetMismatch(offset, row["offset"])
        remaining = row["length"] - row["offset"]
        if content_length is not None and content_length > remaining:
            raise ChunkExceedsUpload(remaining)
        await repository.update_upload(session, upload_id, patch_lease=lease, patching_until=now + lease_for)

    try:
        received = await store.receive(upload_id, lease, body, limit=remaining, checksum=checksum)
    except BaseException as exc:
        await _release(db, upload_id, lease)
        if isinstance(exc, ChunkTooLarge):
            raise ChunkExceedsUpload(remaining) from None
        if isinstance(exc, ChunkChecksumMismatch):
            raise ChecksumMismatch() from None
        raise

    try:
        async with db.unit_of_work() as session:
            return await _commit_chunk(session, store, principal, upload_id, lease, received)
    finally:
        await store.discard_chunk(received)  # already moved into the partial file when committed


async def _commit_chunk(
    session: AsyncSession,
    store: AttachmentStore,
    principal: Principal,
    upload_id: uuid.UUID,
    lease: uuid.UUID,
    received: Received,
) -> UploadState | Refused:
    locked = await repository.lock_upload(session, upload_id, principal.subject)
    if locked is None:
        raise UploadNotFound()  # terminated or purged meanwhile
    row = dict(locked)
    if row["patch_lease"] != lease:
        raise LeaseLost(row["offset"])
    now = clock.now()
    if received.size == 0:
        await repository.update_upload(session, upload_id, patch_lease=None, patching_until=None)
        return _state(row)
    try:
        new_offset = await store.commit_chunk(upload_id, row["offset"], received)
    except PartialLost:
        log.warning("partial file of upload %s is missing or short; upload discarded", upload_id)
        await store.discard(upload_id)
        await repository.delete_upload(session, upload_id)
        return Refused(UploadDataLost())
    if new_offset < row["length"]:
        await repository.update_upload(
            session, upload_id, offset=new_offset, expires_at=now + UPLOAD_TTL, patch_lease=None, patching_until=None
        )
        return _state({**row, "offset": new_offset, "expires_at": now + UPLOAD_TTL})
    return await _finish(session, store, row, now)


async def _release(db: Database, upload_id: uuid.UUID, lease: uuid.UUID) -> None:
    """Give the lease back after a PATCH that wrote nothing (refused, broken off or cancelled)."""
    try:
        async with db.unit_of_work() as session:
            await repository.release_lease(session, upload_id, lease)
    except Exception:  # the lease runs out by itself
        log.warning("could not release the lease of upload %s", upload_id, exc_info=True)


async def _finish(
    session: AsyncSession, store: AttachmentStore, row: dict[str, Any], now: datetime
) -> UploadState | Refused:
    upload_id = row["id"]
    digest = await store.partial_sha256(upload_id)
    if digest != row["sha256"]:
        await store.discard(upload_id)
        await repository.delete_upload(session, upload_id)
        return Refused(Sha256Mismatch(digest))
    if not signatures.matches(row["filetype"], await store.partial_head(upload_id, signatures.HEAD_BYTES)):
        await store.discard(upload_id)
        await repository.delete_upload(session, upload_id)
        return Refused(FileContentMismatch(row["filetype"]))
    await store.promote(upload_id, digest)
    await repository.insert_attachment(
        session,
        {
            "sha256": digest,
            "size": row["length"],
            "filetype": row["filetype"],
            "filename": row["filename"],
            "uploaded_by": row["worker_id"],
            "stored_at": now,
        },
    )
    await repository.update_upload(
        session, upload_id, offset=row["length"], completed_at=now, patch_lease=None, patching_until=None
    )
    return _state({**row, "offset": row["length"], "completed_at": now})


# termination ----------------------------------------------------------------------------------


async def terminate_upload(
    session: AsyncSession, store: AttachmentStore, principal: Principal, upload_id: uuid.UUID
) -> None:
    """tus termination of an unfinished upload: the upload resource and its partial bytes go away.

    A finished upload is refused with 409 `upload_finished` and kept (tus lets a server refuse to
    terminate a finished upload): it is the only record that the worker sent the file, which is what
    lets them, the dispatchers and the departments see the photo of their reports."""
    row = await _owned(session, principal, upload_id, lock=True)
    if row["completed_at"] is not None:
        raise UploadFinished(row["length"])
    await repository.delete_upload(session, upload_id)
    await store.discard(upload_id)


# case documents -----------------------------------------------------------------------------


async def grant_document(session: AsyncSession, grant: AttachmentGrant, now: datetime) -> GrantedFile:
    """Cases attaches a stored file to a case as a document: the file must be stored, finished by the
    uploader (knowing a hash proves nothing), and an image, a recording or a PDF. From then on those who
    may see the case may fetch it (the grant keeps the case's area path; departments are asked of cases)."""
    stored = await repository.get_attachment(session, grant.sha256)
    if stored is None or not await repository.worker_sent(session, grant.sha256, grant.uploader):
        raise DocumentNotStored()
    if not is_document_type(stored["filetype"]):
        raise DocumentTypeNotAllowed(stored["filetype"])
    await repository.upsert_grant(
        session,
        {
            "sha256": grant.sha256,
            "case_id": grant.case_id,
            "area_path": grant.area_path,
            "granted_by": grant.granted_by,
            "granted_at": now,
        },
    )
    return GrantedFile(
        sha256=stored["sha256"], filetype=stored["filetype"], size=stored["size"], filename=stored["filename"]
    )


# what the attachments hold -------------------------------------------------------------------


async def stored_attachments(session: AsyncSession, shas: list[str]) -> set[str]:
    """Of these sha256 digests, those stored as attachments."""
    return await repository.stored_shas(session, shas)
