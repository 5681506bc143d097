"""The fold tick: deltas the stats triggers appended move into the rollups in batches, each batch in its own
transaction (FOR UPDATE SKIP LOCKED in `cases.stats_fold`), so any number of replicas may fold and a killed
fold loses nothing — its batch stays in the deltas, which every read adds anyway."""

from __future__ import annotations

from services.cases.stats import repository as repo
from shared.db import Database

FOLD_BATCH = 5000
FOLD_INTERVAL_SECONDS = 2.0


async def fold_deltas(db: Database, batch: int = FOLD_BATCH, rounds: int = 20) -> int:
    """Fold until fewer than a batch are left (at most `rounds` batches a tick); how many were folded."""
    total = 0
    for _ in range(rounds):
        async with db.unit_of_work() as session:
            n = await repo.fold(session, batch)
        total += n
        if n < batch:
            break
    return total
