"""Idempotency-Key: a repeat with the same key and body gets the first answer; another body gets 422."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.idempotency import repository as repo
from services.cases.idempotency.exceptions import IdempotencyKeyReused
from shared.clock import clock


async def once(
    session: AsyncSession, actor: str, key: str | None, request: Any, run: Callable[[], Awaitable[Any]]
) -> Any:
    """Run `run()` once per (actor, key); returns its JSON-able result, or the stored one on a repeat."""
    if not key:
        return orjson.loads(orjson.dumps(await run()))
    digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()
    if not await repo.claim(session, actor, key, digest, clock.now()):
        prior = await repo.stored(session, actor, key)
        if prior.request_hash != digest:
            raise IdempotencyKeyReused()
        return prior.response
    result = orjson.loads(orjson.dumps(await run()))  # the first answer and every repeat are the same JSON
    await repo.finish(session, actor, key, 200, result)
    return result
