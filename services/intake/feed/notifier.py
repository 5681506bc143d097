"""Wakes long polls early when a worker's feed grows (LISTEN/NOTIFY). Correctness never depends on it:
a waiting pull also re-reads on a short interval."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import asyncpg

from services.intake.feed.repository import FEED_CHANNEL

log = logging.getLogger("intake.feed")


class FeedNotifier:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn.replace("postgresql+asyncpg://", "postgresql://")
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for event in self._waiters.get(payload, ()):
            event.set()

    async def _listen_forever(self) -> None:
        while True:
            try:
                self._conn = await asyncpg.connect(self.dsn, timeout=5)
                await self._conn.add_listener(FEED_CHANNEL, self._on_notify)
                while not self._conn.is_closed():
                    await asyncio.sleep(5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect after a database restart
                log.warning("feed listener lost its connection: %s", type(exc).__name__)
            await asyncio.sleep(1)

    async def wait(self, worker_id: str, timeout: float) -> None:
        event = asyncio.Event()
        self._waiters[worker_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters[worker_id].discard(event)
            if not self._waiters[worker_id]:
                self._waiters.pop(worker_id, None)
