"""The cases schema."""

from typing import Any

from shared.db import service_metadata
from shared.outbox import inbox_table, outbox_table

SCHEMA = "cases"
metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


def case_scope_sql(scope: dict[str, Any]) -> str:
    """Which cases (a row of cases.cases aliased `c`) a caller's scope holds — the one predicate every
    scoped read of the schema shares. Centres and leaders: their area subtrees; departments: the cases
    whistled to them while a whistle of theirs is in play — one returned (退回) or cancelled leaves the
    department its whistle item (GET /v1/whistles) but not the case's later changes."""
    if scope["all"]:
        return "TRUE"
    if scope.get("department"):
        return (
            "EXISTS (SELECT 1 FROM cases.whistles w WHERE w.case_id = c.id AND w.department_code = :scope_dept"
            " AND w.state NOT IN ('returned', 'cancelled'))"
        )
    if scope["areas"]:
        return "c.area_path && CAST(:scope_areas AS text[])"
    return "FALSE"


def case_scope_params(scope: dict[str, Any]) -> dict[str, Any]:
    return {"scope_areas": list(scope["areas"]), "scope_dept": scope.get("department")}


def owed_sql(alias: str) -> str:
    """SQL of service.running(): the clock's work is still owed (pending, or breached and neither met nor
    called off)."""
    return f"({alias}.state IN ('pending', 'breached') AND {alias}.met_at IS NULL AND {alias}.cancel_reason IS NULL)"


def overdue_sql(alias: str, now_param: str) -> str:
    """Owed and past its due time (breached, or pending with the sweep not yet round)."""
    return f"({owed_sql(alias)} AND ({alias}.state = 'breached' OR {alias}.due_at < :{now_param}))"
