"""The handling-centre migration back-fills the cases that exist: each gets the centre of its tier on its
path (the next staffed one up where that level has none), a county petition_backlog case both centres."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import asyncpg
from alembic import command

from tests.shared.test_migrations import _own_database_beside
from tests.support import alembic_config

AREAS = [  # code, level, path
    ("C1", "county", ["C1"]),
    ("T1", "township", ["C1", "T1"]),
    ("V1", "village", ["C1", "T1", "V1"]),  # has its own centre
    ("V2", "village", ["C1", "T1", "V2"]),  # has none
    ("V1-G", "grid", ["C1", "T1", "V1", "V1-G"]),
    ("V2-G", "grid", ["C1", "T1", "V2", "V2-G"]),
]
DISPATCHERS = [("dc", ["C1"]), ("dt", ["T1"]), ("dv", ["V1"])]
CASES = [  # grid, tier, level → the handling centres expected
    ("V1-G", "village", "ordinary", ["V1"]),
    ("V2-G", "village", "ordinary", ["T1"]),
    ("V1-G", "township", "major", ["T1"]),
    ("V2-G", "county", "petition_backlog", ["C1", "T1"]),
    ("V1-G", "county", "complex", ["C1"]),
    ("V1-G", None, None, ["T1"]),  # never graded: the township's
]


async def _url() -> str:
    from shared.devdb import resolve_database_url

    os.environ.setdefault("TEST_DATABASE_NAME", "fengqiao_test")
    name = os.environ["TEST_DATABASE_NAME"] + "_backfill"
    env_url = os.environ.get("TEST_DATABASE_URL")
    if env_url:
        return await _own_database_beside(env_url, name)
    old = os.environ["TEST_DATABASE_NAME"]
    os.environ["TEST_DATABASE_NAME"] = name
    try:
        return await asyncio.to_thread(resolve_database_url, "test")
    finally:
        os.environ["TEST_DATABASE_NAME"] = old


async def test_existing_cases_get_their_handling_centre_in_the_migration():
    url = await _url()
    cfg = alembic_config(url)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    await asyncio.to_thread(command.downgrade, cfg, "base")
    await asyncio.to_thread(command.upgrade, cfg, "0026")
    conn = await asyncpg.connect(dsn)
    ids = []
    try:
        for code, level, path in AREAS:
            await conn.execute(
                "INSERT INTO cases.areas (code, name, level, parent_code, path, updated_at) "
                "VALUES ($1, $1, $2, $3, $4, now())",
                code,
                level,
                path[-2] if len(path) > 1 else None,
                path,
            )
        for username, areas in DISPATCHERS:
            await conn.execute(
                "INSERT INTO cases.users (id, username, name, role, areas, updated_at) "
                "VALUES ($1, $2, $2, 'dispatcher', $3, now())",
                uuid.uuid4(),
                username,
                areas,
            )
        await conn.execute(  # a retired dispatcher makes no centre
            "INSERT INTO cases.users (id, username, name, role, areas, active, updated_at) "
            "VALUES ($1, 'gone', 'gone', 'dispatcher', ARRAY['V2'], false, now())",
            uuid.uuid4(),
        )
        for n, (grid, tier, level, _) in enumerate(CASES):
            case_id = uuid.uuid4()
            ids.append(case_id)
            path = next(p for c, _, p in AREAS if c == grid)
            await conn.execute(
                "INSERT INTO cases.cases (id, number, state, kind, area_code, area_path, tier, level, parties, flags,"
                " attachments, created_at, updated_at) VALUES ($1, $2, 'graded', 'dispute', $3, $4, $5, $6,"
                " $7::jsonb, $7::jsonb, $7::jsonb, now(), now())",
                case_id,
                f"C-{n}",
                grid,
                path,
                tier,
                level,
                json.dumps([]),
            )
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await asyncpg.connect(dsn)
    try:
        got = {r["id"]: list(r["handling"]) for r in await conn.fetch("SELECT id, handling FROM cases.cases")}
    finally:
        await conn.close()
    assert [got[i] for i in ids] == [want for *_, want in CASES]
    await asyncio.to_thread(command.downgrade, cfg, "base")
