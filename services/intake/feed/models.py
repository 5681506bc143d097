from sqlalchemy import BigInteger, Column, DateTime, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.intake.db import metadata

# One row per worker: the last seq handed out. Writers bump it with UPDATE … RETURNING, so the row lock
# orders their commits and a reader paging by seq never skips a change that commits later.
feed_heads = Table(
    "feed_heads",
    metadata,
    Column("worker_id", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("min_seq", BigInteger, nullable=False, server_default="0"),
)

feed = Table(
    "feed",
    metadata,
    Column("worker_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("worker_id", "seq"),
)
