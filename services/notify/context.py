"""Notify's typed context: what its routes, event handlers and ticks use, built once at startup
(main.py) and installed on the app, so nothing reaches into `app.state` as a service locator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from services.notify.config import NotifySettings
from services.notify.delivery.clients import DeliveryClients
from services.notify.rule.engine import Rule
from shared.context import ServiceContext, context_dependency
from shared.outbox import Relay
from shared.pii import PiiCipher


@dataclass
class NotifyContext(ServiceContext):
    settings: NotifySettings
    cipher: PiiCipher
    rules: list[Rule]  # the notification rules (rules.yaml or NOTIFY_RULES_FILE)
    relay: Relay
    delivery_clients: DeliveryClients  # the webhook session and the SMS gateway client
    delivery_runs: set[asyncio.Future[int]] = field(default_factory=set)  # delivery runs in flight


Context = Annotated[NotifyContext, Depends(context_dependency(NotifyContext))]
