"""The org document of API.md (JSON or YAML)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.cases.category.schemas import CategoryDoc
from services.cases.mediator.schemas import MediatorDoc

AreaLevel = Literal["county", "township", "village", "grid", "microgrid"]
Role = Literal["grid_worker", "dispatcher", "department_staff", "leader", "admin"]
_LEVEL_ORDER = {"county": 0, "township": 1, "village": 2, "grid": 3, "microgrid": 4}


class AreaNode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z][0-9A-Za-z_-]*$")
    name: str = Field(min_length=1, max_length=100)
    level: AreaLevel
    active: bool = Field(
        default=True,
        description=(
            "false retires the area (撤销) and everything below it: it leaves the directory that intake and phones see"
        ),
    )
    children: list[AreaNode] = Field(default_factory=list)


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=500, pattern=r"^https?://")
    secret: str | None = Field(default=None, pattern=r"^whsec_[A-Za-z0-9+/=]{8,}$")


class DepartmentDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    kind: str | None = Field(default=None, max_length=40)
    area: str = Field(min_length=1, max_length=40)
    head: str | None = Field(default=None, max_length=100, description="username of the department head")
    webhook: Webhook | None = None
    active: bool = Field(
        default=True, description="false retires the department: it leaves the directory that intake and phones see"
    )


class UserDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    role: Role
    areas: list[str] = Field(default_factory=list, max_length=200)
    department: str | None = Field(default=None, max_length=40)
    password: str | None = Field(default=None, min_length=6, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = True


class ClientDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1, max_length=100)
    client_secret: str = Field(min_length=8, max_length=200)
    department: str = Field(min_length=1, max_length=40)
    active: bool = Field(
        default=True, description="false disables the client: no token is granted and the tokens it holds stop working"
    )


class OrgDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    areas: list[AreaNode] = Field(default_factory=list)
    departments: list[DepartmentDoc] = Field(default_factory=list)
    users: list[UserDoc] = Field(default_factory=list)
    clients: list[ClientDoc] = Field(default_factory=list)
    mediators: list[MediatorDoc] = Field(default_factory=list, description="the mediator register (以案计补)")
    categories: list[CategoryDoc] = Field(
        default_factory=list,
        max_length=200,
        description="dispute categories, upserted by code (those not named stay; DOMAIN.md's list is the default)",
    )


class Counts(BaseModel):
    created: int = 0
    updated: int = 0


class ImportResult(BaseModel):
    areas: Counts
    departments: Counts
    users: Counts
    clients: Counts
    mediators: Counts = Field(default_factory=Counts)
    categories: Counts = Field(default_factory=Counts)
