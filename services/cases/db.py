"""The cases schema."""

from shared.db import service_metadata
from shared.outbox import inbox_table, outbox_table

SCHEMA = "cases"
metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
