"""The org directory: areas (a tree), departments, users, department API clients."""

from sqlalchemy import ARRAY, Boolean, Column, DateTime, Index, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.cases.db import metadata

areas = Table(
    "areas",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_code", Text),
    Column("path", ARRAY(Text), nullable=False),  # ancestor codes from the root, itself last
    Column("active", Boolean, nullable=False, server_default="true"),  # false: retired (撤销), kept for old cases
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_areas_path", "path", postgresql_using="gin"),
)

departments = Table(
    "departments",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text),
    Column("area_code", Text, nullable=False),
    Column("webhook", JSONB),  # {url, secret_enc}
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("department_code", Text),
    Column("areas", ARRAY(Text), nullable=False),
    Column("password_hash", Text),
    Column("phone_enc", Text),
    Column("phone_hash", Text),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("secret_hash", Text, nullable=False),
    Column("department_code", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
