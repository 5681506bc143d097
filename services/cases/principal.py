"""Who acted, as the timeline, the events and the idempotency keys name them: `role:username` (the
subject when the account has no username)."""

from __future__ import annotations

from shared.auth import Principal


def actor_name(principal: Principal) -> str:
    return f"{principal.role}:{principal.username or principal.subject}"
