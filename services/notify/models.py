"""All notify tables, imported by alembic and by repositories."""

from services.notify.db import events, inbox, job_runs, metadata, outbox, sms_counters  # noqa: F401
from services.notify.delivery.models import deliveries, notifications  # noqa: F401
from services.notify.directory.models import areas, departments, users  # noqa: F401
from services.notify.endpoint.models import endpoints  # noqa: F401
