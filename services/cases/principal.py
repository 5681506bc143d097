"""Who acted, as the timeline, the events and the idempotency keys name them (shared.auth.actor_name)."""

from __future__ import annotations

from shared.auth import actor_name

__all__ = ["actor_name"]
