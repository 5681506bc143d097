"""All cases tables, imported by alembic and by repositories."""

from services.cases.audit.models import audit_log  # noqa: F401
from services.cases.calendar.models import calendar_overrides, calendar_years  # noqa: F401
from services.cases.case.models import case_reports, cases, grades, timeline  # noqa: F401
from services.cases.category.models import categories  # noqa: F401
from services.cases.db import inbox, metadata, outbox  # noqa: F401
from services.cases.deadline.models import deadlines  # noqa: F401
from services.cases.document.models import case_documents  # noqa: F401
from services.cases.idempotency.models import idempotency_keys  # noqa: F401
from services.cases.identity.models import devices, login_failures, refresh_tokens  # noqa: F401
from services.cases.mediator.models import mediators  # noqa: F401
from services.cases.notice.models import notice_counters, notices  # noqa: F401
from services.cases.org.models import areas, clients, departments, users  # noqa: F401
from services.cases.stats.models import (  # noqa: F401
    revisits,
    stats_case_days,
    stats_case_months,
    stats_counts,
    stats_deltas,
    stats_mediator_months,
    stats_patrols,
    stats_pending,
    stats_sla,
    stats_sla_months,
    stats_versions,
)
from services.cases.subject.models import subject_cases, subjects  # noqa: F401
from services.cases.task.models import tasks  # noqa: F401
from services.cases.whistle.models import whistles  # noqa: F401
