"""The mediator register (调解员名册) from the org document."""

from sqlalchemy import Boolean, Column, DateTime, Table, Text

from services.cases.db import metadata

mediators = Table(
    "mediators",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("area_code", Text, nullable=False),
    Column("kind", Text, nullable=False),  # professional 专职 | part_time 兼职 | invited 特邀
    Column("committee", Text),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
