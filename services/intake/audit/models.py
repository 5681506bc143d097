"""The intake audit log (审计日志): shared.audit's table in the intake schema."""

from services.intake.db import metadata
from shared.audit import audit_log_table

audit_log = audit_log_table(metadata)
