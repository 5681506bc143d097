"""`python -m services.notify` runs the notify service."""
import uvicorn

from services.notify.config import get_settings
from services.notify.main import create_app

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)
