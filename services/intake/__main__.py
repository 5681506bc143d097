"""`python -m services.intake` runs the intake service (`WORKERS=N` for N processes on one port);
`python -m services.intake worker` runs its periodic jobs alone (for web replicas with RUN_JOBS=false)."""

import sys

from services.intake.config import get_settings
from shared.serve import main

if __name__ == "__main__":
    sys.exit(main("intake", get_settings, sys.argv[1:]))
