"""Intake settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from shared.settings import ServiceSettings, dev_secret, var_dir


@dataclass(frozen=True)
class PushRateLimit:
    """A device's push allowance: a bucket of `burst_items` items refilled at `per_second` (burst 0: none)."""

    burst_items: int
    per_second: float


class IntakeSettings(ServiceSettings):
    service_name: ClassVar[str] = "intake"
    required_in_production: ClassVar[tuple[str, ...]] = (*ServiceSettings.required_in_production, "pull_cursor_key")
    port: int = 8001
    attachments_dir: str = ""
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_types: str = (
        "image/jpeg,image/png,image/webp,image/heic,image/heif,"
        "audio/mpeg,audio/mp4,audio/aac,audio/amr,audio/wav,audio/ogg,audio/webm"
    )
    attachment_daily_count: int = 1000  # uploads a grid worker may begin a China-time day (0: no limit)
    attachment_daily_bytes: int = 2 * 1024 * 1024 * 1024  # their declared bytes a day (0: no limit)
    push_max_items: int = 500
    # each device's push allowance, in items (an empty push costs one): a bucket of PUSH_RATE_BURST_ITEMS
    # refilled at PUSH_RATE_ITEMS_PER_MINUTE; past it a push is 429 with Retry-After. A morning sync after days
    # offline is a few hundred items; 0 turns the limit off
    push_rate_burst_items: int = 6000
    push_rate_items_per_minute: int = 1200
    snapshot_days: int = 90
    feed_retention_days: int = 60
    case_access_timeout_seconds: float = 2.0  # asking cases whether a department may see a case's photos
    # LISTEN for feed growth (wakes long polls) needs a session of its own: behind PgBouncer in transaction
    # mode point this straight at PostgreSQL; unset: DATABASE_URL
    listen_database_url: str | None = None
    pull_cursor_key: str = ""  # signs the pull cursors handed to phones; generated in dev

    @property
    def push_rate(self) -> PushRateLimit:
        return PushRateLimit(self.push_rate_burst_items, self.push_rate_items_per_minute / 60)

    def model_post_init(self, __context: object) -> None:
        super().model_post_init(__context)
        if not self.pull_cursor_key and not self.production:
            self.pull_cursor_key = dev_secret("pull_cursor_key")
        if self.push_rate_burst_items < 0 or self.push_rate_items_per_minute < 0:
            raise ValueError("PUSH_RATE_BURST_ITEMS and PUSH_RATE_ITEMS_PER_MINUTE must not be negative")
        if 0 < self.push_rate_burst_items < self.push_max_items:
            raise ValueError(
                f"PUSH_RATE_BURST_ITEMS ({self.push_rate_burst_items}) must be 0 or at least PUSH_MAX_ITEMS"
                f" ({self.push_max_items}): a full push could never pass"
            )
        if not self.attachments_dir:
            self.attachments_dir = str(var_dir() / "attachments")


@lru_cache
def get_settings() -> IntakeSettings:
    return IntakeSettings()
