"""Packaging: `make` installs the locked versions, the floors stay above the published advisories, and
the wheel carries its data files, so a non-editable install (the container image) runs on its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent.parent

# first versions past the advisories published against them (see the comments in pyproject.toml)
ADVISORY_FLOORS = {"python-multipart": "0.0.32", "aiohttp": "3.14.5", "pyjwt": "2.14.0"}

DATA_FILES = [
    "services/cases/grading/rules.yaml",
    "services/cases/deadline/policy.yaml",
    "services/notify/rule/rules.yaml",
    "migrations/env.py",
    "migrations/__main__.py",
    "migrations/script.py.mako",
    "shared/static/docs/swagger-ui-bundle.js",
    "shared/static/docs/swagger-ui.css",
    "shared/static/docs/redoc.standalone.js",
    "shared/static/docs/favicon-32x32.png",
]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _locked() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[canonicalize_name(name)] = Version(version.split(";")[0].strip())
    return pins


def test_lock_pins_every_dependency_within_its_range():
    project = _project()
    locked = _locked()
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in requirements.lock (run `make lock`)"
        assert req.specifier.contains(locked[name], prereleases=True), f"{name}=={locked[name]} outside {req}"
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q -r requirements.lock" in makefile and "--no-deps -e ." in makefile


def test_version_floors_sit_above_the_published_advisories():
    floors = {}
    for spec in _project()["dependencies"]:
        req = Requirement(spec)
        for clause in req.specifier:
            if clause.operator == ">=":
                floors[canonicalize_name(req.name)] = Version(clause.version)
    locked = _locked()
    for name, first_fixed in ADVISORY_FLOORS.items():
        assert floors[name] >= Version(first_fixed), f"{name} floor {floors.get(name)} < {first_fixed}"
        assert locked[name] >= Version(first_fixed)


def test_sniffio_is_not_a_dependency_and_nothing_imports_it():
    assert all(canonicalize_name(Requirement(s).name) != "sniffio" for s in _project()["dependencies"])
    pattern = re.compile(r"^\s*(import|from)\s+sniffio\b", re.M)
    for folder in ("shared", "services", "migrations", "deploy"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not pattern.search(path.read_text()), path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("fengqiao_backend-*.whl")
    return built


def test_wheel_carries_policies_migrations_and_docs_assets(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in DATA_FILES if f not in names]
    assert not missing, missing
    versions = [n for n in names if n.startswith("migrations/versions/") and n.endswith(".py")]
    assert len(versions) == len(list((ROOT / "migrations" / "versions").glob("*.py")))
    assert not [n for n in names if n.startswith("tests/")]


def test_installed_wheel_runs_without_the_source_tree(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = textwrap.dedent(
        f"""
        from pathlib import Path
        import shared, services
        site = Path({str(site)!r})
        assert Path(shared.__file__).is_relative_to(site), shared.__file__
        from services.cases.grading.engine import DEFAULT_RULES_PATH
        from services.cases.deadline.policy import DEFAULT_POLICY_PATH
        from services.notify.rule.engine import DEFAULT_RULES_PATH as NOTIFY_RULES, load_rules
        for path in (Path(DEFAULT_RULES_PATH), DEFAULT_POLICY_PATH, NOTIFY_RULES):
            assert path.is_relative_to(site) and path.is_file(), path
        load_rules(None)
        from shared.app import alembic_head
        print("head", alembic_head())
        from services.intake.main import create_app as intake
        from services.cases.main import create_app as cases
        from services.notify.main import create_app as notify
        for make in (intake, cases, notify):
            app = make()
            assert any(getattr(r, "path", "") == "/docs/assets" for r in app.routes)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH"}}
    env.update(PYTHONPATH=str(site), VAR_DIR=str(tmp_path / "var"), DATABASE_URL="postgresql+asyncpg://x@127.0.0.1/x")
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    from shared.app import alembic_head

    assert done.stdout.split() == ["head", str(alembic_head())]
    # the image migrates with `python -m migrations upgrade head`: the installed tree, no alembic.ini
    heads = subprocess.run(
        [sys.executable, "-m", "migrations", "heads"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert heads.returncode == 0 and heads.stdout.split() == [str(alembic_head()), "(head)"], heads.stderr[-2000:]
