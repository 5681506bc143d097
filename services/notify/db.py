"""The notify schema: its metadata and the event inbox and outbox every service has. Each domain's
models.py holds its own tables."""

from shared.db import service_metadata
from shared.outbox import inbox_table, outbox_table

SCHEMA = "notify"
metadata = service_metadata(SCHEMA)
inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
