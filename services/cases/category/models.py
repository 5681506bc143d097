"""The dispute categories (矛盾纠纷类别): an extensible list kept in the org document, seeded with
DOMAIN.md's defaults by the migration. Retired ones stay (old cases keep their code) with active = false."""

from sqlalchemy import Boolean, Column, DateTime, Integer, Table, Text, true

from services.cases.db import metadata

categories = Table(
    "categories",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),  # zh-CN, as phones and people read it
    Column("position", Integer, nullable=False),  # the order phones list them in
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
