"""`python -m services.notify` runs the notify service (`WORKERS=N` for N processes on one port)."""

import sys

from services.notify.config import get_settings
from shared.serve import main

if __name__ == "__main__":
    sys.exit(main("notify", get_settings))
