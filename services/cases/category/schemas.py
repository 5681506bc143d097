"""The dispute categories in the org document (`categories`) and on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CategoryDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="the code reports and cases carry")
    name: str = Field(min_length=1, max_length=40, description="the zh-CN name phones show, e.g. 邻里")
    active: bool = Field(default=True, description="false retires the category: new disputes may no longer use it")


class CategoryItem(BaseModel):
    code: str
    name: str


class CategoryList(BaseModel):
    """The live dispute categories, in the order phones list them."""

    items: list[CategoryItem]
