"""Notify settings."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"
    port: int = 8003
    notify_rules_file: str = ""
    # Standard Webhooks delivery
    webhook_retry_schedule: str = "5s,5m,30m,2h,5h,10h,10h"  # waits after each failed attempt; then dead
    webhook_allow_private_targets: bool = False  # dev and tests set true; loopback/private refused otherwise
    webhook_timeout_seconds: float = 5.0
    delivery_interval_seconds: float = 0.5
    delivery_batch: int = 200
    delivery_concurrency: int = 32
    delivery_per_endpoint: int = (
        4  # requests in flight to one department's system at most (a slow one cannot take every slot)
    )
    delivery_shutdown_grace_seconds: float = 10.0  # at shutdown, how long sends in flight may take to finish
    # SMS through the generic gateway adapter ({to, text} JSON); unset: a logging provider
    sms_gateway_url: str | None = None
    sms_daily_cap: int = 10  # per recipient per day
    sms_quiet_hours: str = "22:00-07:00"  # China time; major cases are sent at once
    digest_hour: int = 8  # China time, the daily digest per centre
    # notifications (and their delivered rows) older than this go; one with a dead letter stays
    notification_retention_days: float = 180


@lru_cache
def get_settings() -> NotifySettings:
    return NotifySettings()
