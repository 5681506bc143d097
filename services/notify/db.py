"""The notify schema (its tables arrive with the delivery work)."""
from shared.db import service_metadata

SCHEMA = "notify"
metadata = service_metadata(SCHEMA)
