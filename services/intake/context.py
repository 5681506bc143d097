"""Intake's typed context: what its routes, event handlers and ticks use, built once at startup
(services/intake/startup.py) instead of being looked up on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.intake.attachment.download.clients import CaseAccessClient
from services.intake.attachment.service import UploadPolicy
from services.intake.attachment.storage import AttachmentStore
from services.intake.config import IntakeSettings
from services.intake.feed.notifier import FeedNotifier
from shared.context import ServiceContext, context_dependency
from shared.outbox import Relay
from shared.pii import PiiCipher


@dataclass
class IntakeContext(ServiceContext):
    settings: IntakeSettings
    cipher: PiiCipher  # the parties' ID numbers and phones are stored encrypted
    relay: Relay  # intake's outbox → cases
    notifier: FeedNotifier  # wakes long polls when a worker's feed grows
    store: AttachmentStore  # the attachment files on disk
    upload_policy: UploadPolicy  # size and type limits of an upload
    case_access: CaseAccessClient  # asks cases which cases a department may see


IntakeCtx = Annotated[IntakeContext, Depends(context_dependency(IntakeContext))]
