"""Intake push CPU per batch, step by step, in-process (no server, no database): where a push spends its Python time.

Runs the pieces of POST /v1/sync/push on the same realistic 50-item batches that bench_push sends and
reports the CPU milliseconds (thread CPU time, so other load on the machine does not inflate them)
of each step per batch, median over --push-cpu-rounds batches:

  body_json_stdlib      json.loads of the body (what Starlette's Request.json does for FastAPI)
  body_json_orjson      orjson.loads of the same body, for comparison
  push_request          PushRequest.model_validate of the parsed body (items stay dicts)
  item_validate         ReportItem.model_validate per item (pydantic core + the ID/phone validators)
    of which id_phone_validators   id_number_valid + the phone regex, alone
  content_hash          model_dump(mode="json") + orjson(OPT_SORT_KEYS) + sha256 per item
  row_build             service._row per item, of which:
    pii_encrypt         PiiCipher.encrypt (AES-256-GCM + base64) of each ID number and phone
    pii_lookup_hash     PiiCipher.lookup_hash (normalise + HMAC-SHA256) of each
  rows_json             orjson.dumps of the rows for jsonb_to_recordset
  response              PushResult×n + PushResponse, then validated and dumped as FastAPI does
  jwt_verify            verify_token (EdDSA) of one access token

Compare `sum_steps_ms` with bench_push's `cpu_ms_per_batch.intake`: the rest is framework, SQLAlchemy,
asyncpg and uvicorn. It imports the service's internals, so it follows their names.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent.parent
for p in (str(ROOT), str(Path(__file__).resolve().parent)):
    if p not in sys.path:
        sys.path.insert(0, p)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("bench_push_cpu")
    g.add_argument("--push-cpu-rounds", type=int, default=200, help="batches per step (default 200)")


def _measure(fn: Callable[[], Any], rounds: int) -> float:
    """Median thread-CPU milliseconds of fn()."""
    fn()
    samples = []
    for _ in range(rounds):
        t0 = time.thread_time_ns()
        fn()
        samples.append((time.thread_time_ns() - t0) / 1e6)
    return statistics.median(samples)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from bench_push import BatchMaker, org_document
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.encoders import jsonable_encoder  # noqa: F401 - imported to fail early if FastAPI moved
    from pydantic import TypeAdapter

    from services.cases.identity.keys import SigningKey
    from services.intake.report.schemas import Party, ReportItem, id_number_valid
    from services.intake.sync import service
    from services.intake.sync.schemas import PushRequest, PushResponse, PushResult
    from shared.auth import DEFAULT_AUDIENCE, Principal, verify_token
    from shared.pii import PiiCipher

    batch = getattr(args, "push_batch", 50)
    rounds = args.push_cpu_rounds
    _, grids = org_document(1)
    maker = BatchMaker(grids[:1], per_grid=400)
    bodies = [maker.batch("bench-phone-00", grids[0], batch)[0] for _ in range(64)]
    parsed = [orjson.loads(b) for b in bodies]
    items = [[ReportItem.model_validate(r) for r in p["items"]] for p in parsed]
    cipher = PiiCipher("k1:" + base64.b64encode(bytes(range(32))).decode(), "bench-hash-key")
    principal = Principal(subject=str(uuid.uuid4()), role="grid_worker", areas=(grids[0],), device_id="bench-phone-00")
    now = datetime.now(UTC)
    it = iter(range(10**9))

    def pick(seq: list[Any]) -> Any:
        return seq[next(it) % len(seq)]

    parties = [p for batch_items in items for item in batch_items for p in item.parties]
    per_batch_parties = len(parties) / len(items)
    ids = [p.id_number for p in parties if p.id_number]
    phones = [p.phone for p in parties if p.phone]
    ids_per_batch, phones_per_batch = len(ids) / len(items), len(phones) / len(items)

    def validators() -> None:
        for v in ids[: round(ids_per_batch)]:
            id_number_valid(v)
        for v in phones[: round(phones_per_batch)]:
            Party._phone(v)

    def encrypts() -> None:
        for v in ids[: round(ids_per_batch)]:
            cipher.encrypt(v)
        for v in phones[: round(phones_per_batch)]:
            cipher.encrypt(v)

    def hashes() -> None:
        for v in ids[: round(ids_per_batch)]:
            cipher.lookup_hash("id_number", v)
        for v in phones[: round(phones_per_batch)]:
            cipher.lookup_hash("phone", v)

    rows_by_batch = [[service._row(i, principal, "bench-phone-00", cipher, "00" * 32) for i in b] for b in items]
    response_type = TypeAdapter(PushResponse)

    def response() -> None:
        b = pick(items)
        resp = PushResponse(
            results=[
                PushResult(id=str(i.id), status="accepted", report_no=f"R20261122-{n:06d}") for n, i in enumerate(b)
            ],
            server_time=now,
            clock_offset_ms=12,
        )
        # FastAPI with response_model: re-validate the returned model, then dump JSON (exclude_none on this route).
        value = response_type.validate_python(resp, from_attributes=True)
        response_type.dump_json(value, exclude_none=True)

    key = SigningKey(Ed25519PrivateKey.generate())
    ts = int(time.time())
    token = key.sign(
        {
            "sub": principal.subject,
            "role": "grid_worker",
            "iss": "bench-issuer",
            "aud": DEFAULT_AUDIENCE,
            "iat": ts,
            "nbf": ts - 5,
            "exp": ts + 900,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "areas": [grids[0]],
            "device_id": "bench-phone-00",
            "preferred_username": "bench-w00",
            "name": "压测网格员00",
        }
    )
    keys = key.keyset(issuer="bench-issuer")
    loop = asyncio.get_running_loop()

    def jwt_once() -> None:
        coro = verify_token(keys, token)
        with contextlib.suppress(StopIteration):
            coro.send(None)  # completes synchronously: the key is known

    steps: dict[str, float] = {}
    steps["body_json_stdlib"] = _measure(lambda: json.loads(pick(bodies)), rounds)
    steps["body_json_orjson"] = _measure(lambda: orjson.loads(pick(bodies)), rounds)
    steps["push_request"] = _measure(lambda: PushRequest.model_validate(pick(parsed)), rounds)
    steps["item_validate"] = _measure(lambda: [ReportItem.model_validate(r) for r in pick(parsed)["items"]], rounds)
    steps["id_phone_validators"] = _measure(validators, rounds)
    steps["content_hash"] = _measure(lambda: [service.content_hash(i) for i in pick(items)], rounds)
    steps["row_build"] = _measure(
        lambda: [service._row(i, principal, "bench-phone-00", cipher, "00" * 32) for i in pick(items)], rounds
    )
    steps["pii_encrypt"] = _measure(encrypts, rounds)
    steps["pii_lookup_hash"] = _measure(hashes, rounds)
    steps["rows_json"] = _measure(lambda: orjson.dumps(pick(rows_by_batch)).decode(), rounds)
    steps["response"] = _measure(response, rounds)
    steps["jwt_verify"] = _measure(jwt_once, rounds)
    del loop

    counted = (
        "body_json_stdlib",
        "push_request",
        "item_validate",
        "content_hash",
        "row_build",
        "rows_json",
        "response",
        "jwt_verify",
    )
    total = sum(steps[k] for k in counted)
    print(
        f"per {batch}-item batch (~{maker.mean_item_bytes * batch / 1024:.0f} KiB, {per_batch_parties:.0f} parties, "
        f"{ids_per_batch:.0f} ID numbers, {phones_per_batch:.0f} phones), median thread-CPU ms over {rounds} rounds:"
    )
    for k, v in steps.items():
        sub = k in ("body_json_orjson", "id_phone_validators", "pii_encrypt", "pii_lookup_hash")
        print(f"  {'  ' if sub else ''}{k:<22} {v:7.2f} ms{'' if sub else f'  {v / total * 100:5.1f}%'}")
    print(
        f"  {'sum of steps':<22} {total:7.2f} ms  -> at most {1000 / total * batch:,.0f} reports/s per core for these "
        "steps alone"
    )
    return {
        "batch_items": batch,
        "parties_per_batch": round(per_batch_parties, 1),
        "steps_ms": {k: round(v, 3) for k, v in steps.items()},
        "sum_steps_ms": round(total, 2),
        "steps_only_reports_per_s_per_core": round(1000 / total * batch),
    }


if __name__ == "__main__":
    from run_all import run_standalone

    raise SystemExit(run_standalone(sys.modules[__name__]))
