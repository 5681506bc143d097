"""Growth and retention: the inboxes, idempotency keys, refresh tokens and notifications are pruned by
their retention settings in short batches; the audit log (who revealed parties, exported a ledger,
downloaded a file) is kept at least six months, whatever retention is configured."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.cases.audit.service import prune_audit as prune_cases_audit
from services.cases.idempotency.jobs import prune_idempotency_keys
from services.cases.identity.jobs import prune_refresh_tokens
from services.intake.audit.service import prune_audit as prune_intake_audit
from services.notify.notification.jobs import prune_notifications
from shared.clock import clock
from shared.inbox import prune_inbox
from tests.intake.uploads import download, photo, sha, upload_whole
from tests.support import rows, scalar


def _dbs(system):
    return {name: system.services[name].app.state.db for name in ("intake", "cases", "notify")}


async def _execute(db, sql: str, **params) -> None:
    from sqlalchemy import text

    async with db.unit_of_work() as session:
        await session.execute(text(sql), params)


async def test_every_inbox_forgets_event_ids_older_than_its_retention_in_batches(system):
    from services.cases.db import inbox as cases_inbox
    from services.intake.db import inbox as intake_inbox
    from services.notify.db import inbox as notify_inbox

    tables = {"intake": intake_inbox, "cases": cases_inbox, "notify": notify_inbox}
    for name, db in _dbs(system).items():
        old = [uuid.uuid4() for _ in range(5)]
        young = uuid.uuid4()
        for event_id, age in [*((e, 40) for e in old), (young, 10)]:
            await _execute(
                db,
                f"""INSERT INTO {name}.inbox (event_id, type, source, processed_at)
                    VALUES (:id, 'test.retention', 'test', now() - make_interval(days => :age))""",
                id=event_id,
                age=age,
            )
        deleted = await prune_inbox(db, tables[name], timedelta(days=30), batch=2)
        assert deleted >= 5
        left = await rows(db, f"SELECT event_id FROM {name}.inbox WHERE event_id = ANY(:ids)", ids=[*old, young])
        assert [r.event_id for r in left] == [young], name


async def test_idempotency_keys_and_expired_refresh_tokens_are_pruned(system):
    db = _dbs(system)["cases"]
    actor = f"test:{uuid.uuid4()}"
    for key, age in (("old", 8), ("young", 1)):
        await _execute(
            db,
            """INSERT INTO cases.idempotency_keys (actor, key, request_hash, status, response, created_at)
               VALUES (:a, :k, 'h', 200, '{}'::jsonb, now() - make_interval(days => :age))""",
            a=actor,
            k=key,
            age=age,
        )
    assert await prune_idempotency_keys(db, timedelta(days=7), 1) >= 1
    assert await scalar(db, "SELECT array_agg(key) FROM cases.idempotency_keys WHERE actor = :a", a=actor) == ["young"]

    subject = f"test:{uuid.uuid4()}"
    tokens = {"expired long ago": -10, "expired yesterday": -1, "live": 20}
    for label, expires_in in tokens.items():
        await _execute(
            db,
            """INSERT INTO cases.refresh_tokens (id, family, subject, secret_hash, issued_at, expires_at)
               VALUES (:id, :fam, :subject, :label, now() - interval '30 days',
                       now() + make_interval(days => :days))""",
            id=uuid.uuid4(),
            fam=uuid.uuid4(),
            subject=subject,
            label=label,
            days=expires_in,
        )
    await prune_refresh_tokens(db, timedelta(days=7), 100)
    left = await rows(db, "SELECT secret_hash FROM cases.refresh_tokens WHERE subject = :s ORDER BY 1", s=subject)
    assert [r.secret_hash for r in left] == ["expired yesterday", "live"]


async def test_old_notifications_go_with_their_delivered_rows_but_dead_letters_stay(system):
    db = _dbs(system)["notify"]
    made = {}
    for label, age, state in (
        ("old delivered", 200, "delivered"),
        ("old dead", 200, "dead"),
        ("young", 10, "delivered"),
    ):
        nid = made[label] = uuid.uuid4()
        await _execute(
            db,
            """INSERT INTO notify.notifications (id, event_id, event_type, rule, recipient, title, body, created_at)
               VALUES (:id, :ev, 'test.retention', 'r', 'user:test', :label, 'b',
                       now() - make_interval(days => :age))""",
            id=nid,
            ev=uuid.uuid4(),
            label=label,
            age=age,
        )
        await _execute(
            db,
            """INSERT INTO notify.deliveries (id, notification_id, channel, recipient, message_id, payload, state,
                 created_at)
               VALUES (:id, :nid, 'inbox', 'user:test', :mid, '{}'::jsonb, :state,
                       now() - make_interval(days => :age))""",
            id=uuid.uuid4(),
            nid=nid,
            mid=str(uuid.uuid4()),
            state=state,
            age=age,
        )
    await prune_notifications(db, timedelta(days=180), 1)
    ids = list(made.values())
    kept = await rows(db, "SELECT title FROM notify.notifications WHERE id = ANY(:ids) ORDER BY 1", ids=ids)
    assert [r.title for r in kept] == ["old dead", "young"]
    deliveries = await scalar(db, "SELECT count(*) FROM notify.deliveries WHERE notification_id = ANY(:ids)", ids=ids)
    assert deliveries == 2


async def _audit_kept(db, schema: str, actor: str) -> list[str]:
    found = await rows(db, f"SELECT object_id FROM {schema}.audit_log WHERE actor = :a ORDER BY at DESC", a=actor)
    return [r.object_id for r in found]


async def test_the_audit_log_is_kept_six_months_whatever_the_retention(system):
    for name, prune in (("cases", prune_cases_audit), ("intake", prune_intake_audit)):
        db = _dbs(system)[name]
        marker = f"test:{uuid.uuid4()}"
        for age in (100, 200, 400):
            await _execute(
                db,
                f"""INSERT INTO {name}.audit_log (at, actor, action, object_type, object_id)
                    VALUES (now() - make_interval(days => :age), :actor, 'test', 'test', :age_text)""",
                actor=marker,
                age=age,
                age_text=str(age),
            )
        await prune(db, 365, 1)
        assert await _audit_kept(db, name, marker) == ["100", "200"], name
        await prune(db, 1, 1)  # below the floor (the settings refuse it): still six months are kept
        assert await _audit_kept(db, name, marker) == ["100"], name


async def test_a_ledger_export_and_a_download_are_in_the_audit_log(system):
    since = clock.now()
    hdrs = {**(await system.auth("s001")), "Accept": "text/csv"}
    resp = await system.http.get(f"{system.cases_url}/v1/cases?format=csv&state=received&limit=1", headers=hdrs)
    assert resp.status_code == 200
    exports = await rows(
        _dbs(system)["cases"],
        "SELECT actor, detail FROM cases.audit_log WHERE action = 'export_ledger' AND at >= :since",
        since=since,
    )
    assert len(exports) == 1 and exports[0].actor.endswith(":s001")
    assert exports[0].detail["format"] == "csv" and exports[0].detail["filters"]["state"] == "received"

    data = photo(20_000)
    await upload_whole(system, data)
    assert (await download(system, sha(data))).status_code == 200
    downloads = await rows(
        _dbs(system)["intake"],
        "SELECT actor, object_id FROM intake.audit_log WHERE action = 'download_attachment' AND at >= :since",
        since=since,
    )
    assert [(d.actor.split(":")[0], d.object_id) for d in downloads] == [("grid_worker", sha(data))]


def test_each_service_ticks_its_retention(system):
    from services.cases.main import _ticks as cases_ticks
    from services.intake.startup import ticks as intake_ticks
    from services.notify.main import _ticks as notify_ticks

    for ticks, app in ((cases_ticks, system.cases_app), (intake_ticks, system.intake_app)):
        assert "retention" in {t.name for t in ticks(app)}
    assert "retention" in {t.name for t in notify_ticks(system.services["notify"].app)}
