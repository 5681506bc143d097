"""The cases audit log (审计日志): shared.audit's table in the cases schema."""

from services.cases.db import metadata
from shared.audit import audit_log_table

audit_log = audit_log_table(metadata)
