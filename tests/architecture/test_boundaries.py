"""Services never import each other; shared/ imports no service; routes never import SQLAlchemy;
domain services never import FastAPI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "cases", "notify")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_services_do_not_import_each_other():
    bad = []
    for svc in SERVICES:
        for path in (ROOT / "services" / svc).rglob("*.py"):
            for mod in imports(path):
                for other in SERVICES:
                    if other != svc and mod.startswith(f"services.{other}"):
                        bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_shared_imports_no_service():
    bad = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in (ROOT / "shared").rglob("*.py")
        for m in imports(p)
        if m.startswith("services")
    ]
    assert not bad, "\n".join(bad)


def test_routes_hold_no_sql_and_services_no_http_framework():
    bad = []
    for path in (ROOT / "services").rglob("router.py"):
        bad += [f"{path.relative_to(ROOT)} imports {m}" for m in imports(path) if m.startswith("sqlalchemy")]
    for path in (ROOT / "services").rglob("*service.py"):
        bad += [
            f"{path.relative_to(ROOT)} imports {m}" for m in imports(path) if m.startswith(("fastapi", "starlette"))
        ]
    assert not bad, "\n".join(bad)
