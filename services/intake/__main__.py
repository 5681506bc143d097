"""`python -m services.intake` runs the intake service (`WORKERS=N` for N processes on one port)."""

from services.intake.config import get_settings
from shared.serve import serve

if __name__ == "__main__":
    serve("intake", get_settings())
