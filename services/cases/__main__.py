"""`python -m services.cases` runs the service; `python -m services.cases worker` runs its periodic jobs alone
(for web replicas with RUN_JOBS=false); `python -m services.cases import-org FILE` loads an org document."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from services.cases.config import get_settings


async def _import_org(path: str) -> None:
    from services.cases.case import service as case_service
    from services.cases.org import service
    from shared.clock import clock
    from shared.db import Database
    from shared.pii import PiiCipher

    settings = get_settings()
    db = Database(settings.resolved_database_url(), 2, "fengqiao-cases-cli")
    try:
        raw = await asyncio.to_thread(Path(path).read_bytes)
        ctype = "application/json" if path.endswith(".json") else "application/yaml"
        doc = service.parse_document(raw, ctype)
        async with db.unit_of_work() as session:
            result = await service.import_org(session, doc, PiiCipher(settings.pii_key, settings.pii_hash_key))
            await case_service.rehome_unstaffed(session, clock.now())
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    finally:
        await db.dispose()


async def _seed_demo() -> None:
    from services.cases.case.domain import CaseDomain
    from services.cases.deadline.policy import load_policy
    from services.cases.deadline.service import DeadlineEngine
    from services.cases.grading import load_rules
    from services.cases.startup import load_calendar
    from services.cases.stats.demo import seed
    from shared.db import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url(), 2, "fengqiao-cases-seed")
    try:
        rules = load_rules(settings.grading_rules_file or None)
        policy = load_policy(settings.deadline_policy_file or None)
        domain = CaseDomain(rules=rules, deadlines=DeadlineEngine(policy, await load_calendar(db)))
        made = await seed(db, domain)
        sys.stderr.write(f"seed-demo: done, {made} new demo cases\n")
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    if argv[:1] in (["seed-demo"], ["import-org"]):
        from shared.settings import MissingProductionSettings

        try:  # a production run without its settings ends with the list of what is missing, no traceback
            get_settings()
        except MissingProductionSettings as exc:
            sys.stderr.write(f"cases: {exc}\n")
            return 2
    if argv[:1] == ["seed-demo"]:
        asyncio.run(_seed_demo())
        return 0
    if len(argv) >= 1 and argv[0] == "import-org":
        if len(argv) != 2:
            sys.stderr.write("usage: python -m services.cases import-org FILE\n")
            return 2
        from shared.errors import Problem

        try:
            asyncio.run(_import_org(argv[1]))
        except Problem as exc:
            sys.stderr.write(f"{exc.detail}\n")
            for err in exc.errors or []:
                sys.stderr.write(f"  {'.'.join(map(str, err['loc']))}: {err['msg']}\n")
            return 1
        return 0
    from shared.serve import main as serve_main

    return serve_main("cases", get_settings, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
