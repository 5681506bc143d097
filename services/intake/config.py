"""Intake settings."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from shared.settings import ServiceSettings, dev_secret, var_dir


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
    # what dispatchers and department staff may upload besides ATTACHMENT_TYPES (case documents: 调解协议书,
    # 司法确认书 scans); grid workers' phones stay with images and audio
    document_types: str = "application/pdf"
    attachment_daily_count: int = 1000  # uploads a grid worker may begin a China-time day (0: no limit)
    attachment_daily_bytes: int = 2 * 1024 * 1024 * 1024  # their declared bytes a day (0: no limit)
    push_max_items: int = 500
    snapshot_days: int = 90
    feed_retention_days: int = 60
    case_access_timeout_seconds: float = 2.0  # asking cases whether a department may see a case's photos
    # LISTEN for feed growth (wakes long polls) needs a session of its own: behind PgBouncer in transaction
    # mode point this straight at PostgreSQL; unset: DATABASE_URL
    listen_database_url: str | None = None
    pull_cursor_key: str = ""  # signs the pull cursors handed to phones; generated in dev

    def model_post_init(self, __context: object) -> None:
        super().model_post_init(__context)
        if not self.pull_cursor_key and not self.production:
            self.pull_cursor_key = dev_secret("pull_cursor_key")
        if not self.attachments_dir:
            self.attachments_dir = str(var_dir() / "attachments")


@lru_cache
def get_settings() -> IntakeSettings:
    return IntakeSettings()
