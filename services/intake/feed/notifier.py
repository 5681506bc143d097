"""Wakes long polls early when a worker's feed grows (LISTEN/NOTIFY). Correctness never depends on it:
a waiting pull also re-reads on a short interval."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from services.intake.feed.repository import FEED_CHANNEL

log = logging.getLogger("intake.feed")

LISTENER_NAME = "fengqiao-intake-feed"  # application_name of the LISTEN session (pg_stat_activity)

# query parameters of SQLAlchemy's asyncpg dialect; asyncpg itself would send them as server settings
_DIALECT_PARAMS = frozenset({"prepared_statement_cache_size", "prepared_statement_name_func"})


def listen_dsn(url: str) -> str:
    """The asyncpg DSN of a `postgresql+asyncpg://` URL (the dialect's own parameters dropped)."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _DIALECT_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _set_when_closed(event: asyncio.Event, _conn: object) -> None:
    event.set()


class FeedNotifier:
    def __init__(self, dsn: str) -> None:
        self.dsn = listen_dsn(dsn)
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for event in self._waiters.get(str(payload), ()):
            event.set()

    async def _listen_forever(self) -> None:
        while True:
            try:
                self._conn = await asyncpg.connect(
                    self.dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
                )
                lost = asyncio.Event()
                self._conn.add_termination_listener(functools.partial(_set_when_closed, lost))
                await self._conn.add_listener(FEED_CHANNEL, self._on_notify)
                while not self._conn.is_closed():  # woken when the connection closes; re-checked every 5 s
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect after a database restart
                log.warning("feed listener lost its connection: %s", type(exc).__name__)
            await asyncio.sleep(1)

    async def wait(self, worker_id: str, at_most: float) -> None:
        """Until the worker's feed grows, or `at_most` seconds."""
        event = asyncio.Event()
        self._waiters[worker_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), at_most)
        except TimeoutError:
            pass
        finally:
            self._waiters[worker_id].discard(event)
            if not self._waiters[worker_id]:
                self._waiters.pop(worker_id, None)
