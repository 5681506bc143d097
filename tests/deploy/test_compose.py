"""deploy/compose.yaml and deploy/Dockerfile agree with the code: every variable set for a service is a
real setting of that service, web replicas do not tick and a worker per service does, the pooled URL is
fit for PgBouncer's transaction mode and LISTEN bypasses it, and every intake shares one upload store.
(Docker itself is not needed: the files are read as data.)"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
import yaml

from services.cases.config import CasesSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings

DEPLOY = Path(__file__).resolve().parent.parent.parent / "deploy"
SETTINGS = {"intake": IntakeSettings, "cases": CasesSettings, "notify": NotifySettings}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def app_services(compose: dict) -> dict[str, tuple[str, dict]]:
    """name -> (the service package it runs, its compose entry), for the containers of our image."""
    found = {}
    for name, svc in compose["services"].items():
        cmd = svc.get("command") or []
        if cmd[:2] == ["python", "-m"] and cmd[2].startswith("services."):
            found[name] = (cmd[2].removeprefix("services."), svc)
    return found


def test_every_variable_set_for_a_service_is_one_of_its_settings(compose):
    services = app_services(compose)
    assert {pkg for pkg, _ in services.values()} == set(SETTINGS)
    for name, (pkg, svc) in services.items():
        fields = {f.upper() for f in SETTINGS[pkg].model_fields}
        unknown = set(svc["environment"]) - fields
        assert not unknown, f"{name} sets {sorted(unknown)}, which {SETTINGS[pkg].__name__} does not read"
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["python", "-m", "migrations", "upgrade", "head"]
    assert set(migrate["environment"]) == {"DATABASE_URL"}


def test_two_web_replicas_per_service_without_ticks_and_one_worker_with_them(compose):
    services = app_services(compose)
    for pkg in SETTINGS:
        web = [
            s for pkg_, s in services.values() if pkg_ == pkg and s["command"] == ["python", "-m", f"services.{pkg}"]
        ]
        workers = [s for pkg_, s in services.values() if pkg_ == pkg and s["command"][3:] == ["worker"]]
        assert len(web) == 1 and web[0]["deploy"]["replicas"] == 2, pkg
        assert web[0]["environment"]["RUN_JOBS"] == "false"
        assert len(workers) == 1 and "replicas" not in workers[0].get("deploy", {}), pkg
        assert workers[0]["environment"].get("RUN_JOBS", "true") != "false"
        assert "ports" not in workers[0] and "ports" not in web[0]  # only the edge publishes
        assert web[0]["environment"]["PORT"] == workers[0]["environment"]["PORT"]
        assert web[0]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_database_urls_fit_pgbouncer_transaction_mode(compose):
    bouncer = configparser.ConfigParser(inline_comment_prefixes=(";",))
    bouncer.read_string((DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text())
    assert bouncer["pgbouncer"]["pool_mode"] == "transaction"
    port = bouncer["pgbouncer"]["listen_port"]
    for name, (pkg, svc) in app_services(compose).items():
        env = svc["environment"]
        assert re.search(rf"@pgbouncer:{port}/fengqiao\?prepared_statement_cache_size=0$", env["DATABASE_URL"]), name
        if pkg == "intake":
            assert "@postgres:5432/" in env["LISTEN_DATABASE_URL"], name
    assert "@postgres:5432/" in compose["services"]["migrate"]["environment"]["DATABASE_URL"]


def test_every_intake_mounts_the_one_upload_store(compose):
    intakes = [svc for pkg, svc in app_services(compose).values() if pkg == "intake"]
    assert len(intakes) == 2  # the web replicas and the worker (which purges expired uploads)
    for svc in intakes:
        mounts = {m.split(":")[1]: m.split(":")[0] for m in svc["volumes"]}
        assert mounts[svc["environment"]["ATTACHMENTS_DIR"]] == "attachments"
    assert "attachments" in compose["volumes"]


def test_the_image_installs_from_the_lock_and_runs_as_a_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", dockerfile, re.M)
    assert stages[-1] == ("python:3.11-slim", "app")  # the default target is the services' image
    app = dockerfile.split("AS app", 1)[1]
    assert "--constraint /tmp/requirements.lock" in app and "fengqiao-backend" in app
    user = re.findall(r"^USER (\S+)", app, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    assert 'CMD ["python", "-m", "services.' in app
