"""The retry schedule (`WEBHOOK_RETRY_SCHEDULE`): the waits after each failed attempt, then dead.

"5s,5m,30m,2h,5h,10h,10h" means: after the 1st failure wait 5 s, after the 2nd 5 min, …, and after the
8th failure give up (dead letter). Each wait gets ±10 % jitter so that a recovering endpoint is not hit
by every retry at once.
"""

from __future__ import annotations

import re
from functools import lru_cache

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
JITTER = 0.10


@lru_cache(maxsize=16)
def parse_schedule(spec: str) -> tuple[float, ...]:
    """ "5s,5m,30m,2h" → (5.0, 300.0, 1800.0, 7200.0) seconds. An empty spec: no retries."""
    waits: list[float] = []
    for raw in spec.split(","):
        part = raw.strip().lower()
        if not part:
            continue
        m = _PART.match(part)
        if not m:
            raise ValueError(f"retry schedule entry {raw!r} is not like 5s, 5m, 2h or 1d")
        waits.append(float(m.group(1)) * _UNITS[m.group(2)])
    return tuple(waits)
