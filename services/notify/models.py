"""All notify tables, imported by alembic and by the migration tests."""

from services.notify.db import inbox, metadata, outbox
from services.notify.delivery.models import deliveries, sms_counters
from services.notify.digest.models import job_runs
from services.notify.directory.models import areas, departments, users
from services.notify.endpoint.models import endpoints
from services.notify.event.models import events
from services.notify.notification.models import notifications

__all__ = [
    "areas",
    "deliveries",
    "departments",
    "endpoints",
    "events",
    "inbox",
    "job_runs",
    "metadata",
    "notifications",
    "outbox",
    "sms_counters",
    "users",
]
