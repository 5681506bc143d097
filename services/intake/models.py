"""All intake tables, imported by alembic and by repositories."""

from services.intake.attachment.models import attachment_grants, attachments, uploads
from services.intake.audit.models import audit_log
from services.intake.db import inbox, metadata, outbox
from services.intake.device.models import devices
from services.intake.directory.models import areas, departments, workers
from services.intake.feed.models import feed, feed_heads
from services.intake.report.models import reports
from services.intake.task.models import tasks

__all__ = [
    "areas",
    "attachment_grants",
    "attachments",
    "audit_log",
    "departments",
    "devices",
    "feed",
    "feed_heads",
    "inbox",
    "metadata",
    "outbox",
    "reports",
    "tasks",
    "uploads",
    "workers",
]
