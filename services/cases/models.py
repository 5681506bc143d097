"""All cases tables, imported by alembic and by repositories."""
from services.cases.db import inbox, metadata, outbox  # noqa: F401
from services.cases.org.models import areas, clients, departments, users  # noqa: F401
from services.cases.identity.models import devices, login_failures, refresh_tokens  # noqa: F401
from services.cases.case.models import case_reports, cases, timeline  # noqa: F401
