"""APScheduler 3 only ticks: short periodic jobs in this process (memory job store, never shared).
Each job claims its own rows with FOR UPDATE SKIP LOCKED, so replicas may all tick."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("shared.scheduling")


@dataclass
class Tick:
    name: str
    func: Callable[[], Awaitable[object]]
    seconds: float


class Ticker:
    def __init__(self, ticks: list[Tick]) -> None:
        self.ticks = ticks
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        for tick in self.ticks:
            self.scheduler.add_job(
                self._guard(tick),
                "interval",
                seconds=tick.seconds,
                id=tick.name,
                max_instances=2,  # the guard lets one run at a time: a long run is no warning every interval
                coalesce=True,
                misfire_grace_time=None,
            )
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    @staticmethod
    def _guard(tick: Tick) -> Callable[[], Awaitable[None]]:
        running = False

        async def run() -> None:
            nonlocal running
            if running:  # the last run is still going (a relay under load): this tick is not needed
                return
            running = True
            try:
                await tick.func()
            except Exception as exc:  # a failing tick is logged and tried at the next tick
                from shared.errors import is_database_unavailable

                if is_database_unavailable(exc):
                    log.warning("job %s: database unavailable", tick.name)
                else:
                    log.exception("job %s failed", tick.name)
            finally:
                running = False

        run.__name__ = tick.name
        return run
