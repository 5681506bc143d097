"""Org import: idempotent upsert over the API and the CLI; a bad document stores nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "deploy" / "demo-org.yaml").read_bytes()


async def test_reimport_of_the_demo_org_updates_and_creates_nothing(system):
    resp = await system.http.post(
        f"{system.cases_url}/v1/admin/org",
        content=DOC,
        headers={**await system.auth("admin"), "content-type": "application/yaml"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["areas"]["created"] == 0 and body["areas"]["updated"] == 11
    assert body["users"]["created"] == 0 and body["clients"]["created"] == 0


async def test_new_township_is_created_and_reaches_intake(system):
    doc = {
        "areas": [
            {
                "code": "620602999",
                "name": "测试镇",
                "level": "township",
                "children": [{"code": "620602999201", "name": "测试村", "level": "village"}],
            }
        ],
    }
    hdrs = await system.auth("admin")
    resp = await system.http.post(f"{system.cases_url}/v1/admin/org", json=doc, headers=hdrs)
    assert resp.status_code == 200 and resp.json()["areas"] == {"created": 2, "updated": 0}
    await system.drain()
    async with system.intake_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT name FROM intake.areas WHERE code = '620602999201'"))).scalar() == "测试村"


async def test_document_with_errors_stores_nothing(system):
    doc = {
        "areas": [{"code": "620602888", "name": "错误镇", "level": "township"}],
        "users": [
            {"username": "ghost", "name": "幽灵", "role": "dispatcher", "areas": ["nowhere"], "password": "secret-1"}
        ],
    }
    resp = await system.http.post(f"{system.cases_url}/v1/admin/org", json=doc, headers=await system.auth("admin"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "users", 0, "areas"]
    async with system.cases_app.state.db.unit_of_work() as s:
        assert (await s.execute(text("SELECT count(*) FROM cases.areas WHERE code = '620602888'"))).scalar() == 0


async def test_unparseable_document_is_422(system):
    resp = await system.http.post(
        f"{system.cases_url}/v1/admin/org",
        content=b"areas: [",
        headers={**await system.auth("admin"), "content-type": "application/yaml"},
    )
    assert resp.status_code == 422


async def test_non_admin_cannot_import(system):
    resp = await system.http.post(f"{system.cases_url}/v1/admin/org", json={}, headers=await system.auth("d001"))
    assert resp.status_code == 404


def test_cli_import_is_idempotent(system, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": system.db_url,
        "PII_KEY": system.settings["cases"].pii_key,
        "PII_HASH_KEY": system.settings["cases"].pii_hash_key,
        "VAR_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "services.cases", "import-org", "deploy/demo-org.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert '"created": 0' in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [{username: x, name: y, role: pope}]\n")
    out = subprocess.run(
        [sys.executable, "-m", "services.cases", "import-org", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "role" in out.stderr
    # production without its settings: the list of what is missing, exit 2, no traceback
    out = subprocess.run(
        [sys.executable, "-m", "services.cases", "import-org", "deploy/demo-org.yaml"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "production", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "DATABASE_URL" in out.stderr and "SERVICE_TOKENS" in out.stderr
    assert "Traceback" not in out.stderr
