"""`python -m services.intake` runs the intake service (`WORKERS=N` for N processes on one port)."""

import sys

from services.intake.config import get_settings
from shared.serve import main

if __name__ == "__main__":
    sys.exit(main("intake", get_settings))
