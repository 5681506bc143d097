"""Group a py-spy raw profile of intake (collapsed stacks, `py-spy record --format raw`) into the steps of a push.

    .venv/bin/python tests/bench/pyspy_summary.py PROFILE.txt [--ms-per-batch 18.0]

Each sample goes to the first category (in the order below) that any frame of its stack matches, so
"PII encrypt" inside `_row` counts as PII and not as `_row`. With --ms-per-batch (bench_push's
`cpu_ms_per_batch.intake`) the shares are also shown as CPU ms per batch. Not a benchmark module
(run_all only runs bench_*.py); bench_push calls it when given --push-pyspy.
Caveat: py-spy counts a thread that is runnable but waiting for a core as busy, so on a contended
machine the shares are of "time with work to do", a close proxy for CPU.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("PII: AES-GCM encrypt of ID numbers/phones", ("PiiCipher.encrypt",)),
    ("PII: lookup hash (normalise + HMAC)", ("PiiCipher.lookup_hash",)),
    ("content_hash (model_dump + orjson + sha256)", ("content_hash (",)),
    ("ReportItem validation (pydantic + ID/phone checks)", ("BaseModel.model_validate",)),
    ("_row: building row + event dicts", ("_row (", "_party_wire (")),
    (
        "transaction: pool checkout, pre-ping, BEGIN/COMMIT",
        (
            "_request_session (",
            "_async_ping",
            "Transaction.start",
            "Transaction.__commit",
            "_ConnectionFairy",
            "Session.begin (",
            "AsyncSession.__aexit__",
            "Session.close (",
            "_start_transaction",
            "TransactionalContext",
            "Session.commit",
        ),
    ),
    ("SQL insert_batch (rows JSON, SQLAlchemy, asyncpg)", ("insert_batch (",)),
    ("SQL devices.touch", ("touch (services/intake/device",)),
    (
        "SQL other lookups (attachments, existing, grids)",
        ("stored_attachments (", "existing (services", "bound_areas ("),
    ),
    ("SQLAlchemy/asyncpg, statement not identified", ("greenlet_spawn", "Session.execute", "sqlalchemy/", "asyncpg/")),
    ("request body read + stdlib json.loads", ("Request.json", "Request.body", "json/decoder.py")),
    ("JWT verify (EdDSA)", ("verify_token (", "jwt/")),
    ("PushRequest validation, dependency solving", ("request_body_to_args", "solve_dependencies")),
    ("response: PushResponse validate + JSON", ("serialize_response", "PushResponse", "PushResult", "dump_json")),
    ("push(): its own Python (loops, sets, results)", ("push (services/intake/sync/service.py",)),
    (
        "HTTP stack (uvicorn, Starlette/FastAPI, middlewares)",
        ("uvicorn/", "starlette/", "fastapi/", "shared/app.py", "httptools"),
    ),
]
OTHER = "other (event loop, other threads)"


def summarise(path: str | Path) -> tuple[int, list[tuple[str, int]]]:
    counts: Counter[str] = Counter()
    total = 0
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, n = line.rstrip().rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for name, needles in CATEGORIES:
            if any(needle in stack for needle in needles):
                counts[name] += int(n)
                break
        else:
            counts[OTHER] += int(n)
    order = [name for name, _ in CATEGORIES] + [OTHER]
    return total, [(name, counts[name]) for name in order if counts[name]]


def render(path: str | Path, ms_per_batch: float | None = None) -> str:
    total, rows = summarise(path)
    if not total:
        return f"{path}: no samples"
    out = [
        f"py-spy samples of intake: {total} ({Path(path).name})"
        + (f"; scaled to {ms_per_batch:.1f} ms CPU per batch" if ms_per_batch else "")
    ]
    for name, n in rows:
        share = n / total
        out.append(
            f"  {share * 100:5.1f}%" + (f"  {share * ms_per_batch:6.2f} ms" if ms_per_batch else "") + f"  {name}"
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--ms-per-batch", type=float)
    args = parser.parse_args()
    print(render(args.profile, args.ms_per_batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
