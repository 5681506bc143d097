"""`python -m services.notify` runs the notify service (`WORKERS=N` for N processes on one port);
`python -m services.notify worker` runs its periodic jobs alone (for web replicas with RUN_JOBS=false)."""

import sys

from services.notify.config import get_settings
from shared.serve import main

if __name__ == "__main__":
    sys.exit(main("notify", get_settings, sys.argv[1:]))
