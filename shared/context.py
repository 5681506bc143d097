"""The typed handler context: one object per service holding what its routes, event handlers and
ticks use (database, settings, keys and the service's own engines), so nothing reaches into
`app.state` as a service locator.

A service subclasses `ServiceContext` with its own fields, builds it once at startup and stores it
with `install_context(app, ctx)`; routes ask for it through a dependency made by
`context_dependency(TheContext)`, event handlers receive it as their third argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import FastAPI, Request

from shared.db import Database
from shared.settings import ServiceSettings


@dataclass
class ServiceContext:
    db: Database
    settings: ServiceSettings


C = TypeVar("C", bound=ServiceContext)


def install_context(app: FastAPI, ctx: ServiceContext) -> None:
    app.state.context = ctx


def context_of(app: FastAPI, cls: type[C]) -> C:
    """The service's context, typed; a RuntimeError while the service has not built it yet."""
    ctx = getattr(app.state, "context", None)
    if not isinstance(ctx, cls):
        raise RuntimeError(f"{cls.__name__} is not installed on this app")
    return ctx


def context_dependency(cls: type[C]) -> Callable[[Request], C]:
    """A FastAPI dependency returning the service's context: `Annotated[X, Depends(context_dependency(X))]`."""

    def dependency(request: Request) -> C:
        return context_of(request.app, cls)

    dependency.__name__ = f"get_{cls.__name__}"
    return dependency
