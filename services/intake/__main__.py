"""`python -m services.intake` runs the intake service."""
import uvicorn

from services.intake.config import get_settings
from services.intake.main import create_app

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)
