"""All SQL of attachments and tus uploads (SQLAlchemy Core on the tables). Who may see a stored file
also reads the reports and the directory copy (reads only: this domain writes its own two tables)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, delete, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.attachment.models import attachment_grants, attachments, uploads
from services.intake.directory.models import areas
from services.intake.report.models import reports

# uploads --------------------------------------------------------------------------------------


async def insert_upload(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(uploads).values(**values))


async def lock_worker_uploads(session: AsyncSession, worker_id: str) -> None:
    """Serialise one worker's upload creations until the transaction ends (the daily quota's count)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"intake.uploads:{worker_id}"}
    )


async def uploads_since(session: AsyncSession, worker_id: str, since: datetime) -> tuple[int, int]:
    """How many uploads a worker began since `since`, and their declared bytes."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(uploads.c.length), 0)).where(
                uploads.c.worker_id == worker_id, uploads.c.created_at >= since
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def get_upload(session: AsyncSession, upload_id: uuid.UUID, worker_id: str) -> RowMapping | None:
    result = await session.execute(select(uploads).where(uploads.c.id == upload_id, uploads.c.worker_id == worker_id))
    return result.mappings().first()


async def lock_upload(session: AsyncSession, upload_id: uuid.UUID, worker_id: str) -> RowMapping | None:
    """The worker's upload row, locked for a short transaction (checking or committing a PATCH)."""
    result = await session.execute(
        select(uploads).where(uploads.c.id == upload_id, uploads.c.worker_id == worker_id).with_for_update()
    )
    return result.mappings().first()


async def update_upload(session: AsyncSession, upload_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(uploads).where(uploads.c.id == upload_id).values(**values))


async def release_lease(session: AsyncSession, upload_id: uuid.UUID, lease: uuid.UUID) -> None:
    await session.execute(
        update(uploads)
        .where(uploads.c.id == upload_id, uploads.c.patch_lease == lease)
        .values(patch_lease=None, patching_until=None)
    )


async def delete_upload(session: AsyncSession, upload_id: uuid.UUID) -> None:
    await session.execute(delete(uploads).where(uploads.c.id == upload_id))


async def claim_expired_uploads(session: AsyncSession, now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """Delete unfinished uploads past their expiry and return their ids; rows that a PATCH holds
    right now (locked or leased) are skipped (the next run gets them)."""
    expired = (
        select(uploads.c.id)
        .where(
            uploads.c.completed_at.is_(None),
            uploads.c.expires_at < now,
            or_(uploads.c.patching_until.is_(None), uploads.c.patching_until < now),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(delete(uploads).where(uploads.c.id.in_(expired)).returning(uploads.c.id))
    return list(result.scalars().all())


# attachments ----------------------------------------------------------------------------------


async def get_attachment(session: AsyncSession, sha256: str) -> RowMapping | None:
    result = await session.execute(select(attachments).where(attachments.c.sha256 == sha256))
    return result.mappings().first()


async def insert_attachment(session: AsyncSession, values: dict[str, Any]) -> None:
    """Content-addressed: identical content is stored once; the first upload's row stays."""
    await session.execute(pg_insert(attachments).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))


async def stored_shas(session: AsyncSession, shas: list[str]) -> set[str]:
    """Of these digests, those stored as attachments."""
    if not shas:
        return set()
    result = await session.execute(text("SELECT sha256 FROM intake.attachments WHERE sha256 = ANY(:s)"), {"s": shas})
    return set(result.scalars())


# who may see a stored file ---------------------------------------------------------------------


def _referencing_reports(sha256: str) -> ColumnElement[bool]:
    return reports.c.attachments.contains([f"sha256:{sha256}"])


async def worker_sent(session: AsyncSession, sha256: str, worker_id: str) -> bool:
    """Whether the worker finished an upload of this file, which they only do by sending its bytes
    (or, deduplicated, after having sent them once before)."""
    own_upload = exists().where(
        uploads.c.sha256 == sha256, uploads.c.worker_id == worker_id, uploads.c.completed_at.is_not(None)
    )
    result = await session.execute(select(own_upload))
    return bool(result.scalar())


async def worker_may_see(session: AsyncSession, sha256: str, worker_id: str) -> bool:
    """A grid worker sees a file they sent. A report of theirs naming the hash is not enough: anyone
    can put a hash they learnt into a report."""
    return await worker_sent(session, sha256, worker_id)


async def area_may_see(session: AsyncSession, sha256: str, scope: tuple[str, ...]) -> bool:
    """Someone scoped to areas sees a file referenced by a report whose grid lies in their subtrees and
    whose author sent the file."""
    if not scope:
        return False
    codes = list(scope)
    grid_in_scope = exists().where(
        areas.c.code == reports.c.grid, areas.c.path.op("&&")(literal(codes, type_=PG_ARRAY(Text)))
    )
    author_sent = exists().where(
        uploads.c.sha256 == sha256, uploads.c.worker_id == reports.c.worker_id, uploads.c.completed_at.is_not(None)
    )
    query = select(literal(True)).where(
        _referencing_reports(sha256),
        author_sent,  # a report only vouches for a file its author really sent
        reports.c.grid.is_not(None),
        or_(reports.c.grid.in_(codes), grid_in_scope),
    )
    result = await session.execute(select(exists(query)))
    return bool(result.scalar())


async def vouching_reports(session: AsyncSession, sha256: str, limit: int = 100) -> list[uuid.UUID]:
    """Reports that reference the file and whose author sent it (a report only vouches for a file its
    author really sent): the cases through which a department may see it."""
    author_sent = exists().where(
        uploads.c.sha256 == sha256, uploads.c.worker_id == reports.c.worker_id, uploads.c.completed_at.is_not(None)
    )
    query = (
        select(reports.c.id)
        .where(_referencing_reports(sha256), author_sent)
        .order_by(reports.c.received_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())


# case documents: the grants cases gives --------------------------------------------------------


async def upsert_grant(session: AsyncSession, values: dict[str, Any]) -> None:
    """One grant per file and case (a repeat keeps the first, with the case's path brought up to date)."""
    stmt = pg_insert(attachment_grants).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["sha256", "case_id"], set_={"area_path": stmt.excluded.area_path})
    )


async def granted_to_areas(session: AsyncSession, sha256: str, scope: tuple[str, ...]) -> bool:
    """Is the file a document of a case whose area path meets these areas (a centre's or leader's scope)?"""
    if not scope:
        return False
    query = select(literal(True)).where(
        attachment_grants.c.sha256 == sha256,
        attachment_grants.c.area_path.op("&&")(literal(list(scope), type_=PG_ARRAY(Text))),
    )
    return bool((await session.execute(select(exists(query)))).scalar())


async def granted_cases(session: AsyncSession, sha256: str, limit: int = 100) -> list[uuid.UUID]:
    """The cases the file is a document of (a department may fetch it when cases says it sees one)."""
    query = (
        select(attachment_grants.c.case_id)
        .where(attachment_grants.c.sha256 == sha256)
        .order_by(attachment_grants.c.granted_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())
