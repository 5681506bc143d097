"""Notify's copy of the org directory (from directory.changed): who is who and where."""

from sqlalchemy import ARRAY, BigInteger, Boolean, Column, DateTime, Integer, Table, Text, true

from services.notify.db import metadata

areas = Table(
    "areas",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("path", ARRAY(Text), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

departments = Table(
    "departments",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("area_code", Text),
    Column("head", Text),  # username of the department head
    Column(
        "active", Boolean, nullable=False, server_default=true()
    ),  # false: retired (撤销), no longer in the directory
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("role", Text, nullable=False),
    Column("department_code", Text),
    Column("areas", ARRAY(Text), nullable=False),
    Column("phone_enc", Text),
    Column("active", Boolean, nullable=False, server_default=true()),  # false: no longer in the directory
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row: raised by every directory document applied, so a process keeps its answers for one version
directory_version = Table(
    "directory_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True)),
)
