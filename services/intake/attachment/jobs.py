"""The attachments' housekeeping tick."""

from __future__ import annotations

import logging

from services.intake.attachment import repository
from services.intake.attachment.storage import AttachmentStore
from shared.clock import clock
from shared.db import Database

log = logging.getLogger("intake.attachment")


async def purge_expired_uploads(db: Database, store: AttachmentStore) -> int:
    """Remove unfinished uploads past their expiry (24 h after their last chunk) and their partial
    files; returns how many. Its own unit of work; safe on several replicas at once."""
    async with db.unit_of_work() as session:
        ids = await repository.claim_expired_uploads(session, clock.now())
    for upload_id in ids:
        await store.discard(upload_id)
    if ids:
        log.info("purged %d expired uploads", len(ids))
    return len(ids)
