from sqlalchemy import ARRAY, Boolean, Column, DateTime, Index, Integer, Table, Text, true

from services.intake.db import metadata

# A copy of the org directory that cases publishes (directory.changed): grid binding, scoping of
# attachments, and the reference data phones keep offline. Retired rows stay with active = false: the
# reports (and photos) of a retired grid still belong to its township and county; only live rows bind
# new reports and go to the phones.
areas = Table(
    "areas",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_code", Text),
    Column("path", ARRAY(Text), nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_areas_path", "path", postgresql_using="gin"),
)

departments = Table(
    "departments",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text),
    Column("area_code", Text),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The grid workers and their bound areas, as the directory says (to tell whose reference data a
# directory change touches).
workers = Table(
    "workers",
    metadata,
    Column("worker_id", Text, primary_key=True),
    Column("areas", ARRAY(Text), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The dispute categories as cases last published them (the migration seeds DOMAIN.md's list, so reports
# are checked before the first directory arrives); retired ones stay with active = false.
categories = Table(
    "categories",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
