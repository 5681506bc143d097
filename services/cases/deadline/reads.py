"""Scoped reads of deadlines, notices and subjects."""

from __future__ import annotations

from typing import Any

from services.cases.case import repository as case_repo
from services.cases.case.service import scope_of
from services.cases.deadline import repository as repo
from services.cases.notice import repository as notice_repo
from services.cases.notice.service import notice_out
from services.cases.subject import repository as subject_repo
from shared.auth import Principal
from shared.paging import decode_cursor, encode_cursor


def _page(rows: list[Any], limit: int, out: Any, key: Any) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [out(r) for r in rows], "next_cursor": encode_cursor(*key(rows[-1])) if more and rows else None}


async def deadlines(
    session: Any, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> dict[str, Any]:
    scope = scope_of(principal)
    rows = await repo.list_for(
        session,
        case_repo.scope_sql(scope),
        case_repo.scope_params(scope),
        filters,
        limit + 1,
        decode_cursor(cursor) if cursor else None,
    )

    def out(r: Any) -> dict[str, Any]:
        return {
            "id": str(r.id),
            "case_id": str(r.case_id),
            "case_number": r.case_number,
            "kind": r.kind,
            "state": r.state,
            "due_at": r.due_at,
            "met_at": r.met_at,
            "breached_at": r.breached_at,
            "department": r.department_code,
            "calendar": r.calendar,
            "provisional": r.provisional,
            "paused": r.paused_at is not None,
        }

    return _page(rows, limit, out, lambda r: (r.due_at, r.id))


def notice_scope(principal: Principal) -> tuple[str, dict[str, Any]]:
    scope = scope_of(principal)
    if scope.get("department"):
        return "n.unit = :scope_dept", case_repo.scope_params(scope)
    if scope["all"]:
        return "TRUE", case_repo.scope_params(scope)
    return "(c.area_path && CAST(:scope_areas AS text[]) OR n.area_code = ANY(:scope_areas))", case_repo.scope_params(
        scope
    )


async def notices(
    session: Any, principal: Principal, state: str | None, kind: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    sql, params = notice_scope(principal)
    rows = await notice_repo.list_visible(
        session, sql, params, state, kind, limit + 1, decode_cursor(cursor) if cursor else None
    )
    return _page(rows, limit, notice_out, lambda r: (r.issued_at, r.id))


async def subjects(
    session: Any, principal: Principal, risk: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    scope = scope_of(principal)
    after = decode_cursor(cursor) if cursor else None
    rows = await subject_repo.list_subjects(
        session,
        case_repo.scope_sql(scope),
        case_repo.scope_params(scope),
        risk,
        limit + 1,
        (after[0].isoformat(), after[1]) if after else None,
    )

    def out(r: Any) -> dict[str, Any]:
        return {
            "id": str(r.id),
            "kind": r.kind,
            "name": r.name,
            "area": r.area_code,
            "risk": r.risk,
            "case_count": r.case_count,
            "open_cases": r.open_cases,
            "cases": list(r.case_numbers),
            "updated_at": r.updated_at,
        }

    return _page(rows, limit, out, lambda r: (r.updated_at, r.id))
