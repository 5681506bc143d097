"""Org import (机构导入): an idempotent upsert of areas, departments, users and clients, followed by a
directory.changed event so that intake (and notify) keep their copies."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.category import service as categories
from services.cases.db import outbox
from services.cases.identity.service import hash_secret, verify_secret
from services.cases.mediator import service as mediators
from services.cases.org import repository as repo
from services.cases.org.exceptions import OrgDocumentMalformed, OrgDocumentRejected, OrgDocumentUnreadable
from services.cases.org.schemas import _LEVEL_ORDER, AreaNode, Counts, ImportResult, OrgDocument
from services.cases.whistle import service as whistle_service
from shared.clock import clock
from shared.contracts.events import DIRECTORY_CHANGED
from shared.outbox import Event, publish
from shared.pii import PiiCipher


def parse_document(raw: bytes, content_type: str) -> OrgDocument:
    try:
        data: Any = yaml.safe_load(raw) if "yaml" in content_type else orjson.loads(raw)
    except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
        raise OrgDocumentUnreadable(str(exc)) from None
    try:
        return OrgDocument.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise OrgDocumentMalformed(exc.errors(include_url=False)) from None


def _flatten(
    nodes: list[AreaNode],
    parent: str | None,
    path: list[str],
    out: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    loc: list[Any],
) -> None:
    for i, node in enumerate(nodes):
        here = [*loc, i]
        if parent is not None and _LEVEL_ORDER[node.level] <= _LEVEL_ORDER[out_level(out, parent)]:
            errors.append(
                {"loc": ["body", *here, "level"], "msg": f"{node.code} 的层级不能高于或等于上级", "type": "level_order"}
            )
        npath = [*path, node.code]
        out.append(
            {
                "code": node.code,
                "name": node.name,
                "level": node.level,
                "parent_code": parent,
                "path": npath,
                "active": node.active,
            }
        )
        _flatten(node.children, node.code, npath, out, errors, [*here, "children"])


def out_level(out: list[dict[str, Any]], code: str) -> str:
    for a in reversed(out):
        if a["code"] == code:
            return a["level"]
    return "county"


def _counts(created_updated: tuple[int, int]) -> Counts:
    created, updated = created_updated
    return Counts(created=created, updated=updated)


async def import_org(session: AsyncSession, doc: OrgDocument, cipher: PiiCipher) -> ImportResult:
    now = clock.now()
    errors: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    _flatten(doc.areas, None, [], areas, errors, ["areas"])
    codes = [a["code"] for a in areas]
    if len(set(codes)) != len(codes):
        errors.append({"loc": ["body", "areas"], "msg": "区域编码重复", "type": "duplicate"})
    referenced = (
        {d.area for d in doc.departments} | {c for u in doc.users for c in u.areas} | {m.area for m in doc.mediators}
    )
    known = set(codes) | await repo.known_codes(session, "areas", sorted(referenced - set(codes)))
    dept_codes = {d.code for d in doc.departments}
    dept_refs = {u.department for u in doc.users if u.department} | {c.department for c in doc.clients}
    known_depts = dept_codes | await repo.known_codes(session, "departments", sorted(dept_refs - dept_codes))
    for i, d in enumerate(doc.departments):
        if d.area not in known:
            errors.append(
                {"loc": ["body", "departments", i, "area"], "msg": f"区域 {d.area} 不存在", "type": "unknown_area"}
            )
    for i, u in enumerate(doc.users):
        for code in u.areas:
            if code not in known:
                errors.append(
                    {"loc": ["body", "users", i, "areas"], "msg": f"区域 {code} 不存在", "type": "unknown_area"}
                )
        if u.role == "department_staff" and not u.department:
            errors.append({"loc": ["body", "users", i, "department"], "msg": "部门人员必须指定部门", "type": "missing"})
        if u.department and u.department not in known_depts:
            errors.append(
                {
                    "loc": ["body", "users", i, "department"],
                    "msg": f"部门 {u.department} 不存在",
                    "type": "unknown_department",
                }
            )
        if u.role != "admin" and not u.areas:
            errors.append({"loc": ["body", "users", i, "areas"], "msg": "必须指定所属区域", "type": "missing"})
    for i, c in enumerate(doc.clients):
        if c.department not in known_depts:
            errors.append(
                {
                    "loc": ["body", "clients", i, "department"],
                    "msg": f"部门 {c.department} 不存在",
                    "type": "unknown_department",
                }
            )
    errors += mediators.area_errors(doc.mediators, known)
    errors += categories.document_errors(doc.categories)
    if errors:
        raise OrgDocumentRejected(errors)

    result = ImportResult(areas=Counts(), departments=Counts(), users=Counts(), clients=Counts())
    result.areas = _counts(await repo.upsert_areas(session, [{**a, "now": now} for a in areas]))
    dept_rows = [
        {
            "code": d.code,
            "name": d.name,
            "kind": d.kind,
            "area_code": d.area,
            "webhook": orjson.dumps(
                {"url": d.webhook.url, "secret_enc": cipher.encrypt(d.webhook.secret), "head": d.head}
                if d.webhook
                else {"head": d.head}
            ).decode(),
            "active": d.active,
            "now": now,
        }
        for d in doc.departments
    ]
    result.departments = _counts(await repo.upsert_departments(session, dept_rows))
    # a retired department's open whistles end now, or their cases would wait on it for ever
    await whistle_service.cancel_for_retired(session, [d.code for d in doc.departments if not d.active], now)

    existing = await repo.password_hashes(session, [u.username for u in doc.users])
    user_rows = []
    for u in doc.users:
        pw_hash = None
        if u.password is not None:
            old = existing.get(u.username)
            pw_hash = old if old and await verify_secret(old, u.password) else await hash_secret(u.password)
        user_rows.append(
            {
                "id": uuid.uuid4(),
                "username": u.username,
                "name": u.name,
                "role": u.role,
                "department_code": u.department,
                "areas": u.areas,
                "password_hash": pw_hash,
                "phone_enc": cipher.encrypt(u.phone),
                "phone_hash": cipher.lookup_hash("phone", u.phone),
                "active": u.active,
                "now": now,
            }
        )
    result.users = _counts(await repo.upsert_users(session, user_rows))

    old_clients = await repo.client_hashes(session, [c.client_id for c in doc.clients])
    client_rows = []
    for c in doc.clients:
        old = old_clients.get(c.client_id)
        secret_hash = old if old and await verify_secret(old, c.client_secret) else await hash_secret(c.client_secret)
        client_rows.append(
            {
                "client_id": c.client_id,
                "secret_hash": secret_hash,
                "department_code": c.department,
                "active": c.active,
                "now": now,
            }
        )
    result.clients = _counts(await repo.upsert_clients(session, client_rows))

    created, updated = await mediators.import_register(session, doc.mediators, now)
    result.mediators = Counts(created=created, updated=updated)
    created, updated = await categories.import_categories(session, doc.categories, now)
    result.categories = Counts(created=created, updated=updated)
    await publish_directory(session)
    return result


async def publish_directory(session: AsyncSession) -> None:
    """The whole directory (retired areas and departments left out) as one event; intake replaces its copy
    with it. One aggregate keeps the versions in order."""
    await repo.lock_directory(session)
    areas = await repo.all_areas(session)
    users = await repo.all_users(session)
    # intake: the areas and departments, and the grid workers' areas (whose phones need new reference data)
    workers = [{"worker_id": u["user_id"], "areas": u["areas"]} for u in users if u["role"] == "grid_worker"]
    payload = {
        "areas": areas,
        "departments": await repo.all_departments(session),
        "workers": workers,
        "categories": await categories.live(session),  # the phones' category list (reference data)
    }
    # notify also needs who is who: users with roles, areas and (encrypted) phones; department heads and webhooks
    full = {"areas": areas, "departments": await repo.departments_full(session), "users": users}
    await publish(
        session,
        outbox,
        [
            Event(type=DIRECTORY_CHANGED, aggregate_id="directory", payload=payload, destinations=("intake",)),
            Event(type=DIRECTORY_CHANGED, aggregate_id="directory", payload=full, destinations=("notify",)),
        ],
    )


async def area_paths(session: AsyncSession, codes: list[str]) -> dict[str, list[str]]:
    """Each area's path from the county down (code → [county, township, village, grid])."""
    return await repo.area_paths(session, codes)


async def live_area_path(session: AsyncSession, code: str) -> list[str] | None:
    """The path of an area that takes new cases (known, and neither it nor an area above it retired)."""
    return await repo.live_area_path(session, code)


async def area_name(session: AsyncSession, code: str) -> str | None:
    return await repo.area_name(session, code)


async def levels_and_names(session: AsyncSession, codes: list[str]) -> dict[str, tuple[str, str]]:
    """code → (level, name) of these areas (those known)."""
    return await repo.levels_and_names(session, codes)


async def area_levels(session: AsyncSession, path: list[str]) -> dict[str, str]:
    """level → code along a path (county, township, village, grid)."""
    return await repo.area_levels(session, path)


async def centres_on_path(session: AsyncSession, path: list[str]) -> list[Any]:
    """The areas of a path (code, name, level, staffed: an active dispatcher works there)."""
    return await repo.centres_on_path(session, path)


async def area_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """code → name of the known areas among `codes`."""
    return await repo.area_names(session, codes)
