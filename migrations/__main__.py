"""`python -m migrations upgrade head`: alembic against this installed tree, no alembic.ini needed (the
container image runs it once per release, before the new replicas start). Any alembic command works:
`python -m migrations current`, `python -m migrations heads`. DATABASE_URL says where, and must reach
PostgreSQL directly (not through PgBouncer)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from alembic.config import CommandLine, Config


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)-5.5s [%(name)s] %(message)s", stream=sys.stderr)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    cli = CommandLine(prog="python -m migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cfg = Config(cmd_opts=options)
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent))
    cli.run_cmd(cfg, options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
