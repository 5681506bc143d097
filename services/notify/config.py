"""Notify settings."""
from __future__ import annotations

from functools import lru_cache

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    port: int = 8003


@lru_cache
def get_settings() -> NotifySettings:
    return NotifySettings()
