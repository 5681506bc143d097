"""The house's boundaries, read from the source (nothing is imported or run):

- services never import each other; shared/ imports no service;
- SQLAlchemy only in repositories, models, db modules and shared's outbox/inbox/db machinery (anyone
  may name `sqlalchemy.ext.asyncio` types such as `AsyncSession`), and no SQL text elsewhere;
- routers import no SQLAlchemy at all, services and repositories no FastAPI/Starlette;
- a domain's repository writes only the tables its own domain's models define (plus its service's
  outbox/inbox, which belong to the relay machinery);
- a domain never imports another domain's repository: it asks that domain's service.

A domain is a first-level folder of a service (`services/cases/whistle/`); modules directly under
`services/<svc>/` belong to no domain and so own no table and import no repository.

Each check returns every violation as a `Violation` (file, line, what); the tests compare them with
`KNOWN`, today's violations that other work is removing — the list must only ever shrink, and is empty
once the house is in order.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "cases", "notify")

# Modules that may use SQLAlchemy beyond the asyncio types: the relay, database and audit machinery of shared/.
SQL_INFRASTRUCTURE = frozenset(
    {"shared/db.py", "shared/outbox.py", "shared/inbox.py", "shared/outbox_repository.py", "shared/audit.py"}
)
SQL_FILE_NAMES = frozenset({"repository.py", "models.py", "db.py"})
# Tables every service has, defined by shared/outbox.py and written by the relay machinery.
RELAY_TABLES = frozenset({"outbox", "inbox"})
WRITE_FUNCTIONS = frozenset({"insert", "update", "delete"})

_SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\{\w+\}|\w+)\.(\w+)", re.IGNORECASE)
_SQL_ANY = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\b[\s\S]*?\bFROM|JOIN)\s+(?:\{\w+\}|intake|cases|notify)\.\w+",
    re.IGNORECASE,
)


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    path: str  # relative to the checked root
    line: int
    what: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What KNOWN lists: no line number, so unrelated edits of a file do not shift it."""
        return (self.rule, self.path, self.what)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.what}"


# ---- reading the tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    root: Path
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        return self.path.relative_to(self.root).as_posix()

    @property
    def dotted(self) -> str:
        return ".".join(self.path.relative_to(self.root).with_suffix("").parts)

    @property
    def service(self) -> str | None:
        parts = self.path.relative_to(self.root).parts
        return parts[1] if parts[0] == "services" and len(parts) > 2 else None

    @property
    def domain(self) -> tuple[str, str] | None:
        return domain_of(self.dotted)

    @property
    def is_repository(self) -> bool:
        return is_repository_name(self.path.stem)

    @property
    def is_router(self) -> bool:
        return self.path.stem == "router" or self.path.stem.endswith("_router")

    @property
    def is_service(self) -> bool:
        return self.path.stem == "service" or self.path.stem.endswith("_service")


def is_repository_name(name: str) -> bool:
    return name == "repository" or name.endswith("_repository")


def domain_of(dotted: str) -> tuple[str, str] | None:
    """('cases', 'whistle') for services.cases.whistle[.anything]; None for service roots and shared."""
    parts = dotted.split(".")
    if len(parts) >= 4 and parts[0] == "services":
        return parts[1], parts[2]
    return None


def modules(root: Path) -> list[Module]:
    found = []
    for top in ("services", "shared"):
        for path in sorted((root / top).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            found.append(Module(root, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found


@dataclass(frozen=True)
class Imported:
    module: str  # the module the name comes from (`a.b` for `from a.b import c`, `a.b` for `import a.b`)
    name: str | None  # the imported name (`c`), None for `import a.b`
    line: int


def imports(mod: Module) -> Iterator[Imported]:
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Imported(alias.name, None, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield Imported(node.module, alias.name, node.lineno)


def bindings(mod: Module) -> dict[str, str]:
    """Local name -> dotted path of what it names (`t` -> services.cases.calendar.models.calendar_overrides),
    from imports and from plain `a = b` / `a = m.b` aliases anywhere in the module."""
    names: dict[str, str] = {}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = resolve(node.value, names)
            if target is not None:
                names.setdefault(node.targets[0].id, target)
    return names


def resolve(expr: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = resolve(expr.value, names)
        return f"{base}.{expr.attr}" if base else None
    return None


def strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string literal with its line; f-strings with their placeholders kept as `{name}`;
    docstrings left out (they describe, they do not run)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inner |= {id(v) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and id(node) not in inner:
                yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                for v in node.values
                if isinstance(v, (ast.Constant, ast.FormattedValue))
            )
            yield node.lineno, text


# ---- the checks -------------------------------------------------------------------------------------


def sql_placement(root: Path) -> list[Violation]:
    """(a) SQLAlchemy, and SQL text, only where SQL lives."""
    found = []
    for mod in modules(root):
        if mod.path.name in SQL_FILE_NAMES or mod.is_repository or mod.rel in SQL_INFRASTRUCTURE:
            continue
        for imp in imports(mod):
            if imp.module == "sqlalchemy" or imp.module.startswith("sqlalchemy."):
                if imp.module == "sqlalchemy.ext.asyncio" and imp.name is not None:
                    continue
                what = f"imports {imp.module}" + (f".{imp.name}" if imp.name else "")
                found.append(Violation("sql-outside-repository", mod.rel, imp.line, what))
        for line, text in strings(mod.tree):
            match = _SQL_ANY.search(text)
            if match:
                statement = " ".join(match.group(0).split())[:60]
                found.append(Violation("sql-outside-repository", mod.rel, line, f"SQL text {statement!r}"))
    return sorted(found)


def layer_imports(root: Path) -> list[Violation]:
    """(b) routers import no SQLAlchemy; services and repositories no HTTP framework."""
    found = []
    for mod in modules(root):
        for imp in imports(mod):
            if mod.is_router and (imp.module == "sqlalchemy" or imp.module.startswith("sqlalchemy.")):
                found.append(Violation("router-imports-sqlalchemy", mod.rel, imp.line, f"imports {imp.module}"))
            if (mod.is_service or mod.is_repository) and imp.module.split(".")[0] in ("fastapi", "starlette"):
                found.append(Violation("service-imports-http", mod.rel, imp.line, f"imports {imp.module}"))
    return sorted(found)


def table_owners(root: Path) -> dict[tuple[str, str], str]:
    """(service, table) -> dotted module that defines it with `Table("name", ...)`."""
    owners: dict[tuple[str, str], str] = {}
    for mod in modules(root):
        if mod.service is None or mod.path.name not in ("models.py", "db.py"):
            continue
        for node in ast.walk(mod.tree):
            if (
                isinstance(node, ast.Call)
                and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "Table"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                owners[(mod.service, node.args[0].value)] = mod.dotted
    return owners


def _write_targets(mod: Module) -> Iterator[tuple[int, str, str | None, str]]:
    """(line, shown target, service of the target or None if unknown, table or dotted Table object)."""
    names = bindings(mod)
    for line, text in strings(mod.tree):
        for match in _SQL_WRITE.finditer(text):
            schema, table = match.group(1), match.group(2)
            if schema.startswith("{"):
                source = names.get(schema.strip("{}"), "")
                service = source.split(".")[1] if source.startswith("services.") else mod.service
            else:
                service = schema if schema in SERVICES else None
            yield line, f"{schema}.{table}", service, table
    for node in ast.walk(mod.tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_FUNCTIONS:  # table.update()
            target = resolve(node.func.value, names) or ""
            if target.rpartition(".")[0].endswith((".models", ".db")):
                yield node.lineno, ast.unparse(node.func), None, target
                continue
        function = resolve(node.func, names) or ""
        module, _, fname = function.rpartition(".")
        if fname not in WRITE_FUNCTIONS or not node.args or not module.startswith("sqlalchemy"):
            continue
        target = resolve(node.args[0], names) or ast.unparse(node.args[0])
        yield node.lineno, f"{fname}({ast.unparse(node.args[0])})", None, target


def cross_domain_writes(root: Path) -> list[Violation]:
    """(c) a domain's repository writes only its own domain's tables (and its service's relay tables)."""
    owners = table_owners(root)
    found = []
    for mod in modules(root):
        if not mod.is_repository or mod.service is None:
            continue
        for line, shown, service, table in _write_targets(mod):
            if "." in table:  # a Table object: its defining module names the owner
                owner: str | None = table.rpartition(".")[0]
                if owner not in set(owners.values()):
                    owner = None
                table_service = owner.split(".")[1] if owner else None
                table_name = table.rpartition(".")[2]
            else:
                owner = owners.get((service, table)) if service else None
                table_service, table_name = service, table
            if table_name in RELAY_TABLES and table_service == mod.service:
                continue
            if owner is None:
                found.append(
                    Violation("cross-domain-write", mod.rel, line, f"writes {shown}, a table of no known model")
                )
            elif domain_of(owner) != mod.domain:
                found.append(Violation("cross-domain-write", mod.rel, line, f"writes {shown}, owned by {owner}"))
    return sorted(found)


def foreign_repositories(root: Path) -> list[Violation]:
    """(d) no module imports another domain's repository."""
    found = []
    for mod in modules(root):
        for imp in imports(mod):
            if not imp.module.startswith("services."):
                continue
            if imp.name is not None and is_repository_name(imp.name):
                target = f"{imp.module}.{imp.name}"
            elif is_repository_name(imp.module.rpartition(".")[2]):
                target = imp.module
            else:
                continue
            if domain_of(target) != mod.domain or mod.domain is None:
                found.append(Violation("foreign-repository", mod.rel, imp.line, f"imports {target}"))
    return sorted(found)


def service_imports(root: Path) -> list[Violation]:
    """Services never import each other; shared/ imports no service."""
    found = []
    for mod in modules(root):
        for imp in imports(mod):
            parts = imp.module.split(".")
            if parts[0] != "services":
                continue
            if mod.service is None and mod.rel.startswith("shared/"):
                found.append(Violation("shared-imports-service", mod.rel, imp.line, f"imports {imp.module}"))
            elif len(parts) > 1 and mod.service is not None and parts[1] != mod.service:
                found.append(Violation("service-imports-service", mod.rel, imp.line, f"imports {imp.module}"))
    return sorted(found)


# ---- today's violations (being removed; the list only shrinks) --------------------------------------

# Emptied when the restructuring of issue 7 lands (the lead's merge); never grows.
KNOWN: set[tuple[str, str, str]] = set()


def new_violations(found: Iterable[Violation]) -> list[str]:
    return [str(v) for v in found if v.key not in KNOWN]


# ---- the tests --------------------------------------------------------------------------------------


def test_services_do_not_import_each_other_and_shared_imports_no_service():
    bad = new_violations(service_imports(ROOT))
    assert not bad, "\n".join(bad)


def test_sqlalchemy_only_in_repositories_models_and_db_machinery():
    bad = new_violations(sql_placement(ROOT))
    assert not bad, "\n".join(bad)


def test_routes_hold_no_sql_and_services_no_http_framework():
    bad = new_violations(layer_imports(ROOT))
    assert not bad, "\n".join(bad)


def test_repositories_write_only_their_own_domains_tables():
    bad = new_violations(cross_domain_writes(ROOT))
    assert not bad, "\n".join(bad)


def test_no_domain_imports_another_domains_repository():
    bad = new_violations(foreign_repositories(ROOT))
    assert not bad, "\n".join(bad)


def test_the_checks_see_the_tables_of_every_service():
    owners = table_owners(ROOT)
    assert {service for service, _ in owners} == set(SERVICES)
    assert owners[("cases", "timeline")] == "services.cases.case.models"


def _plant(root: Path, files: dict[str, str]) -> None:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def test_planted_violations_are_reported_with_file_and_line(tmp_path):
    _plant(
        tmp_path,
        {
            "shared/__init__.py": "",
            "shared/outbox.py": "from sqlalchemy import text\n",
            "services/__init__.py": "",
            "services/cases/db.py": 'SCHEMA = "cases"\n',
            "services/cases/case/models.py": (
                "from sqlalchemy import Column, Table, Text\n\n"
                "from services.cases.db import metadata\n\n"
                'timeline = Table("timeline", metadata, Column("note", Text))\n'
            ),
            "services/cases/case/repository.py": (
                "from sqlalchemy import text\n\n"
                "from services.cases.case.models import timeline\n\n"
                'ADD = text("INSERT INTO cases.timeline (note) VALUES (:n)")\n'
            ),
            "services/cases/deadline/models.py": (
                "from sqlalchemy import Column, Table, Text\n\n"
                "from services.cases.db import metadata\n\n"
                'deadlines = Table("deadlines", metadata, Column("state", Text))\n'
            ),
            "services/cases/deadline/repository.py": (
                "from sqlalchemy import text, update\n"
                "from sqlalchemy.dialects.postgresql import insert as pg_insert\n\n"
                "from services.cases.case import models as case_models\n"
                "from services.cases.db import SCHEMA\n"
                "from services.cases.deadline.models import deadlines as t\n\n\n"
                "async def sweep(session):\n"
                '    await session.execute(update(t).values(state="met"))\n'
                "    await session.execute(\n"
                '        text("UPDATE cases.timeline SET note = :n WHERE case_id = :c"), {"n": "超期", "c": 1}\n'
                "    )\n"
                '    await session.execute(text(f"DELETE FROM {SCHEMA}.timeline"))\n'
                "    await session.execute(pg_insert(case_models.timeline).values(note=None))\n"
                "    await session.execute(case_models.timeline.delete())\n"
            ),
            "services/cases/deadline/service.py": (
                '"""Deadlines: UPDATE cases.deadlines is the repository\'s (a docstring may say so)."""\n\n'
                "from fastapi import HTTPException\n"
                "from sqlalchemy import text\n"
                "from sqlalchemy.ext.asyncio import AsyncSession\n\n"
                "from services.cases.case import repository as case_repo\n"
                "from services.cases.deadline import repository as repo\n"
            ),
            "services/cases/deadline/router.py": "from sqlalchemy.ext.asyncio import AsyncSession\n",
            "services/cases/deadline/jobs.py": "SQL = \"SELECT id FROM cases.deadlines WHERE state = 'pending'\"\n",
        },
    )

    placement = [str(v) for v in sql_placement(tmp_path)]
    assert placement == [
        "services/cases/deadline/jobs.py:1: [sql-outside-repository] SQL text 'SELECT id FROM cases.deadlines'",
        "services/cases/deadline/service.py:4: [sql-outside-repository] imports sqlalchemy.text",
    ]
    layers = [str(v) for v in layer_imports(tmp_path)]
    assert layers == [
        "services/cases/deadline/router.py:1: [router-imports-sqlalchemy] imports sqlalchemy.ext.asyncio",
        "services/cases/deadline/service.py:3: [service-imports-http] imports fastapi",
    ]
    writes = [str(v) for v in cross_domain_writes(tmp_path)]
    assert writes == [
        "services/cases/deadline/repository.py:12: [cross-domain-write] writes cases.timeline,"
        " owned by services.cases.case.models",
        "services/cases/deadline/repository.py:14: [cross-domain-write] writes {SCHEMA}.timeline,"
        " owned by services.cases.case.models",
        "services/cases/deadline/repository.py:15: [cross-domain-write] writes insert(case_models.timeline),"
        " owned by services.cases.case.models",
        "services/cases/deadline/repository.py:16: [cross-domain-write] writes case_models.timeline.delete,"
        " owned by services.cases.case.models",
    ]
    repositories = [str(v) for v in foreign_repositories(tmp_path)]
    assert repositories == [
        "services/cases/deadline/service.py:7: [foreign-repository] imports services.cases.case.repository"
    ]
