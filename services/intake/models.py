"""All intake tables, imported by alembic and by repositories."""

from services.intake.attachment.models import attachments, uploads  # noqa: F401
from services.intake.db import inbox, metadata, outbox  # noqa: F401
from services.intake.device.models import devices  # noqa: F401
from services.intake.directory.models import areas, departments, workers  # noqa: F401
from services.intake.feed.models import feed, feed_heads  # noqa: F401
from services.intake.report.models import reports  # noqa: F401
from services.intake.task.models import tasks  # noqa: F401
