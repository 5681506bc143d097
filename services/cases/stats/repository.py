"""SQL of the rollups: reads of a handful of rows per poll, the patrol counts, the revisit record, and
the plain GROUP BY over the case tables that the rollups must agree with (tests and the bench).

Every read adds, in the same statement (one snapshot), the deltas the triggers appended and no fold has
moved into the rollups yet (`stats_deltas`, by version key), so its figures are exact at any moment."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def max_version(session: AsyncSession, keys: list[str]) -> str:
    """The version of the figures of these keys: the sum of their rollup rows' versions (and the last
    rebuild's), each bumped by every fold that changes the row, with the number and newest id of their deltas
    not folded yet. Any commit or fold touching a key changes it (a delta committing after a newer one does too:
    the count grows)."""
    row = (
        await session.execute(
            text(
                """SELECT (SELECT COALESCE(sum(version), 0) FROM cases.stats_versions WHERE key = ANY(:k)) AS v,
                          count(*) AS n, COALESCE(max(id), 0) AS m
                   FROM cases.stats_deltas WHERE key = ANY(:k)"""
            ),
            {"k": [*keys, "rebuild"]},
        )
    ).one()
    return f"{row.v}.{row.n}.{row.m}"


async def fold(session: AsyncSession, batch: int) -> int:
    """Move up to `batch` committed deltas into the rollups (skipping those another fold holds); how many."""
    result = await session.execute(text("SELECT cases.stats_fold(:b)"), {"b": batch})
    return int(result.scalar_one())


def _keys(gtype: str, codes: list[str]) -> list[str]:
    return [f"{gtype}:{c}" for c in codes]


async def area_rows(session: AsyncSession, codes: list[str]) -> list[Any]:
    result = await session.execute(
        text("SELECT code, name, level, parent_code, path FROM cases.areas WHERE code = ANY(:c)"), {"c": codes}
    )
    return list(result)


async def root_areas(session: AsyncSession) -> list[str]:
    result = await session.execute(text("SELECT code FROM cases.areas WHERE parent_code IS NULL ORDER BY code"))
    return [r.code for r in result]


async def child_areas(session: AsyncSession, parents: list[str]) -> list[Any]:
    result = await session.execute(
        text("SELECT code, name FROM cases.areas WHERE parent_code = ANY(:p) ORDER BY code"), {"p": parents}
    )
    return list(result)


async def departments_in(session: AsyncSession, areas: list[str] | None, code: str | None = None) -> list[Any]:
    """Departments whose own area lies in one of `areas` (None: all), or the one `code`."""
    params: dict[str, Any]
    if code is not None:
        sql, params = "d.code = :code", {"code": code}
    elif areas is None:
        sql, params = "TRUE", {}
    else:
        sql, params = "a.path && CAST(:areas AS text[])", {"areas": areas}
    result = await session.execute(
        text(
            f"""SELECT d.code, d.name FROM cases.departments d JOIN cases.areas a ON a.code = d.area_code
                WHERE {sql} ORDER BY d.code"""
        ),
        params,
    )
    return list(result)


async def counts(session: AsyncSession, areas: list[str]) -> list[Any]:
    result = await session.execute(
        text(
            """SELECT dim, value, sum(n) AS n FROM (
                 SELECT dim, value, n FROM cases.stats_counts WHERE area_code = ANY(:a)
                 UNION ALL
                 SELECT kind, value, n1 FROM cases.stats_deltas WHERE key = ANY(:k) AND tbl = 'c'
                 UNION ALL
                 SELECT c.dim, c.value, d.n1
                 FROM cases.stats_deltas d,
                      LATERAL cases.stats_case_count_keys(ARRAY[d.gcode], d.state, d.level, d.tier, d.kind,
                                                          d.category, d.channel) c
                 WHERE d.key = ANY(:k) AND d.tbl = 'k') x
               GROUP BY dim, value HAVING sum(n) <> 0"""
        ),
        {"a": areas, "k": _keys("a", areas)},
    )
    return list(result)


async def pending_around(session: AsyncSession, areas: list[str], now_minute: datetime) -> tuple[int, int]:
    """(pending clocks already past due, pending clocks due within 24 hours), to the minute."""
    row = (
        await session.execute(
            text(
                """SELECT COALESCE(sum(n) FILTER (WHERE due_minute < :m), 0) AS overdue,
                          COALESCE(sum(n) FILTER (WHERE due_minute >= :m), 0) AS soon
                   FROM (SELECT due_minute, n FROM cases.stats_pending
                         WHERE gtype = 'a' AND gcode = ANY(:a) AND due_minute < :until
                         UNION ALL
                         SELECT due_minute, n1 FROM cases.stats_deltas
                         WHERE key = ANY(:k) AND tbl = 'p' AND due_minute < :until) x"""
            ),
            {"a": areas, "k": _keys("a", areas), "m": now_minute, "until": now_minute + timedelta(hours=24)},
        )
    ).one()
    return int(row.overdue), int(row.soon)


async def patrols_on(session: AsyncSession, areas: list[str], day: date) -> tuple[int, int]:
    """(patrol reports on `day`, workers with two or more that day) in the areas."""
    row = (
        await session.execute(
            text(
                """SELECT COALESCE(sum(n), 0) AS total, count(*) FILTER (WHERE n >= 2) AS two
                   FROM (SELECT worker_id, sum(n) AS n FROM cases.stats_patrols
                         WHERE area_code = ANY(:a) AND day = :d GROUP BY worker_id) w"""
            ),
            {"a": areas, "d": day},
        )
    ).one()
    return int(row.total), int(row.two)


async def grid_workers(session: AsyncSession, areas: list[str]) -> int:
    """Active grid workers bound to an area in the subtrees (the directory is small beside the cases)."""
    result = await session.execute(
        text(
            """SELECT count(*) FROM cases.users u
               WHERE u.role = 'grid_worker' AND u.active AND EXISTS (
                 SELECT 1 FROM cases.areas a WHERE a.code = ANY(u.areas) AND a.path && CAST(:a AS text[]))"""
        ),
        {"a": areas},
    )
    return int(result.scalar_one())


async def sla_rows(
    session: AsyncSession, gtype: str, codes: list[str], start: date, end: date, months: tuple[date, date], today: date
) -> list[Any]:
    """Clock outcomes per group and kind over the due days; pending ones of past days are past due. The
    whole months [months) (all before today's month) are read from the month rollup, the other days from
    the day rollup, and the deltas of the whole period besides."""
    result = await session.execute(
        text(
            """SELECT gcode, kind, sum(on_time) AS on_time, sum(late) AS late, sum(breached) AS breached,
                      COALESCE(sum(pending) FILTER (WHERE day < :today), 0) AS past_pending
               FROM (
                 SELECT gcode, kind, on_time, late, breached, pending, day FROM cases.stats_sla
                 WHERE gtype = :g AND gcode = ANY(:c) AND day >= :s AND day < :ms
                 UNION ALL
                 SELECT gcode, kind, on_time, late, breached, pending, month FROM cases.stats_sla_months
                 WHERE gtype = :g AND gcode = ANY(:c) AND month >= :ms AND month < :me
                 UNION ALL
                 SELECT gcode, kind, on_time, late, breached, pending, day FROM cases.stats_sla
                 WHERE gtype = :g AND gcode = ANY(:c) AND day >= :me AND day <= :e
                 UNION ALL
                 SELECT gcode, kind, n1, n2, n3, n4, day FROM cases.stats_deltas
                 WHERE key = ANY(:k) AND tbl = 's' AND day BETWEEN :s AND :e) x
               GROUP BY gcode, kind"""
        ),
        {
            "g": gtype,
            "c": codes,
            "k": _keys(gtype, codes),
            "s": start,
            "e": end,
            "ms": months[0],
            "me": months[1],
            "today": today,
        },
    )
    return list(result)


async def pending_between(
    session: AsyncSession, gtype: str, codes: list[str], start: datetime, end: datetime
) -> list[Any]:
    """Pending clocks per group and kind due in [start, end) (today's past-due ones), to the minute."""
    result = await session.execute(
        text(
            """SELECT gcode, kind, sum(n) AS n FROM (
                 SELECT gcode, kind, n FROM cases.stats_pending
                 WHERE gtype = :g AND gcode = ANY(:c) AND due_minute >= :s AND due_minute < :e
                 UNION ALL
                 SELECT gcode, kind, n1 FROM cases.stats_deltas
                 WHERE key = ANY(:k) AND tbl = 'p' AND due_minute >= :s AND due_minute < :e) x
               GROUP BY gcode, kind"""
        ),
        {"g": gtype, "c": codes, "k": _keys(gtype, codes), "s": start, "e": end},
    )
    return list(result)


CASE_COLS = "received, res_den, res_num, med_den, med_num, closed, kept, rev_den, rev_num"


async def case_day_rows(
    session: AsyncSession, gtype: str, codes: list[str], start: date, end: date, months: tuple[date, date]
) -> list[Any]:
    """Case rates per group over the days: the whole months [months) from the month rollup, the other days
    from the day rollup, and the deltas of the whole period besides."""
    result = await session.execute(
        text(
            f"""SELECT gcode, sum(received) AS received, sum(res_den) AS res_den, sum(res_num) AS res_num,
                       sum(med_den) AS med_den, sum(med_num) AS med_num, sum(closed) AS closed, sum(kept) AS kept,
                       sum(rev_den) AS rev_den, sum(rev_num) AS rev_num
                FROM (
                  SELECT gcode, {CASE_COLS} FROM cases.stats_case_days
                  WHERE gtype = :g AND gcode = ANY(:c) AND day >= :s AND day < :ms
                  UNION ALL
                  SELECT gcode, {CASE_COLS} FROM cases.stats_case_months
                  WHERE gtype = :g AND gcode = ANY(:c) AND month >= :ms AND month < :me
                  UNION ALL
                  SELECT gcode, {CASE_COLS} FROM cases.stats_case_days
                  WHERE gtype = :g AND gcode = ANY(:c) AND day >= :me AND day <= :e
                  UNION ALL
                  SELECT gcode, n1, n2, n3, n4, n5, n6, n7, n8, n9 FROM cases.stats_deltas
                  WHERE key = ANY(:k) AND tbl = 'd' AND day BETWEEN :s AND :e) x
                GROUP BY gcode"""
        ),
        {"g": gtype, "c": codes, "k": _keys(gtype, codes), "s": start, "e": end, "ms": months[0], "me": months[1]},
    )
    return list(result)


async def trend_rows(session: AsyncSession, areas: list[str], start: date, end: date, today: date) -> list[Any]:
    """Per day: cases received and closed, clocks due met on time / decided (pending of past days breached)."""
    result = await session.execute(
        text(
            """WITH c AS (SELECT day, sum(received) AS received, sum(closed) AS closed FROM (
                            SELECT day, received, closed FROM cases.stats_case_days
                            WHERE gtype = 'a' AND gcode = ANY(:a) AND day BETWEEN :s AND :e
                            UNION ALL
                            SELECT day, n1, n6 FROM cases.stats_deltas
                            WHERE key = ANY(:k) AND tbl = 'd' AND day BETWEEN :s AND :e) x GROUP BY day),
                    d AS (SELECT day, sum(on_time) AS on_time,
                                 sum(on_time + late + breached)
                                   + COALESCE(sum(pending) FILTER (WHERE day < :t), 0) AS den
                          FROM (SELECT day, on_time, late, breached, pending FROM cases.stats_sla
                                WHERE gtype = 'a' AND gcode = ANY(:a) AND day BETWEEN :s AND :e
                                UNION ALL
                                SELECT day, n1, n2, n3, n4 FROM cases.stats_deltas
                                WHERE key = ANY(:k) AND tbl = 's' AND day BETWEEN :s AND :e) x
                          GROUP BY day)
               SELECT COALESCE(c.day, d.day) AS day, COALESCE(c.received, 0) AS received,
                      COALESCE(c.closed, 0) AS closed, COALESCE(d.on_time, 0) AS on_time, COALESCE(d.den, 0) AS den
               FROM c FULL JOIN d ON d.day = c.day"""
        ),
        {"a": areas, "k": _keys("a", areas), "s": start, "e": end, "t": today},
    )
    return list(result)


async def mediator_months(session: AsyncSession, month: str, codes: list[str]) -> list[Any]:
    result = await session.execute(
        text(
            """SELECT mediator_code, level, shared_by, sum(n) AS n FROM (
                 SELECT mediator_code, level, shared_by, n FROM cases.stats_mediator_months
                 WHERE month = :m AND mediator_code = ANY(:c)
                 UNION ALL
                 SELECT gcode, kind, shared_by, n1 FROM cases.stats_deltas
                 WHERE key = :k AND tbl = 'm' AND gcode = ANY(:c)) x
               GROUP BY mediator_code, level, shared_by HAVING sum(n) <> 0"""
        ),
        {"m": month, "c": codes, "k": f"m:{month}"},
    )
    return list(result)


async def add_revisit(session: AsyncSession, case_id: uuid.UUID, at: datetime, satisfaction: str, actor: str) -> None:
    """Every revisit is kept (满意率 counts each one, also a second after a dissatisfied reopen); the
    revisit trigger counts it in the same transaction."""
    await session.execute(
        text(
            """INSERT INTO cases.revisits (case_id, at, satisfaction, actor)
               VALUES (:c, :at, :s, :a)"""
        ),
        {"c": case_id, "at": at, "s": satisfaction, "a": actor},
    )


async def add_patrols(session: AsyncSession, counts: list[dict[str, Any]]) -> None:
    """Patrol counts (worker, grid, day, n) added to the grid and every area above it, one statement."""
    if not counts:
        return
    await session.execute(
        text(
            """WITH x AS (
                 SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(worker_id text, grid text, day date, n int)
               ), up AS (
                 INSERT INTO cases.stats_patrols AS t (area_code, day, worker_id, n)
                 SELECT a, x.day, x.worker_id, sum(x.n)
                 FROM x LEFT JOIN cases.areas ar ON ar.code = x.grid,
                      LATERAL unnest(COALESCE(ar.path, ARRAY[x.grid])) AS a
                 GROUP BY 1, 2, 3
                 ON CONFLICT (area_code, day, worker_id) DO UPDATE SET n = t.n + excluded.n
                 RETURNING t.area_code
               )
               INSERT INTO cases.stats_versions AS v (key, slot, version)
               SELECT DISTINCT 'a:' || area_code, 0, nextval('cases.stats_version_seq') FROM up
               ON CONFLICT (key, slot) DO UPDATE SET version = excluded.version"""
        ),
        {"rows": _json(counts)},
    )


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


async def rebuild(session: AsyncSession) -> None:
    """Recount every rollup from the case tables (after a bulk load)."""
    await session.execute(text("SELECT cases.stats_rebuild()"))


# --- the same figures by a plain GROUP BY over the case tables (what the rollups spare each poll) ----


async def scan_overview(session: AsyncSession, areas: list[str], now: datetime) -> dict[str, Any]:
    by = {}
    for dim in ("state", "level", "tier", "kind", "category", "channel"):
        result = await session.execute(
            text(
                f"""SELECT {dim} AS v, count(*) AS n FROM cases.cases
                    WHERE area_path && CAST(:a AS text[]) AND {dim} IS NOT NULL GROUP BY 1"""
            ),
            {"a": areas},
        )
        by[dim] = {r.v: int(r.n) for r in result}
    row = (
        await session.execute(
            text(
                """SELECT count(*) FILTER (WHERE d.due_at < :now OR d.state = 'breached') AS overdue,
                          count(*) FILTER (WHERE d.state = 'pending' AND d.due_at >= :now
                                             AND d.due_at < :now + interval '24 hours') AS soon
                   FROM cases.deadlines d JOIN cases.cases c ON c.id = d.case_id
                   WHERE c.area_path && CAST(:a AS text[]) AND d.state IN ('pending', 'breached')
                     AND d.met_at IS NULL AND d.cancel_reason IS NULL"""
            ),
            {"a": areas, "now": now},
        )
    ).one()
    return {"by": by, "overdue": int(row.overdue), "due_24h": int(row.soon)}


async def scan_sla_by_area(session: AsyncSession, parent: str, start: date, end: date, now: datetime) -> list[Any]:
    """On-time counts per child area and kind straight from the deadlines and cases."""
    result = await session.execute(
        text(
            """SELECT c.area_path[array_position(c.area_path, :p) + 1] AS child, d.kind,
                      count(*) FILTER (WHERE d.state = 'met' AND d.met_at <= d.due_at) AS on_time,
                      count(*) AS den
               FROM cases.deadlines d JOIN cases.cases c ON c.id = d.case_id
               WHERE c.area_path @> ARRAY[CAST(:p AS text)] AND d.state <> 'cancelled'
                 AND (d.state <> 'pending' OR d.due_at < :now)
                 AND (d.due_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :s AND :e
               GROUP BY 1, 2"""
        ),
        {"p": parent, "s": start, "e": end, "now": now},
    )
    return list(result)
