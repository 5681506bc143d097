"""`python -m services.notify` runs the notify service (`WORKERS=N` for N processes on one port)."""

from services.notify.config import get_settings
from shared.serve import serve

if __name__ == "__main__":
    serve("notify", get_settings())
