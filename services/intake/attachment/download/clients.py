"""The download's HTTP client to cases (services speak over HTTP, never by import): asks whether a
department caller may see the case of some reports (whistled 吹哨 to their department). A short
timeout: when cases cannot answer, the download is 503 with Retry-After."""

from __future__ import annotations

import logging
import uuid

import httpx
from pydantic import ValidationError

from services.intake.attachment.download.exceptions import CaseAccessUnavailable
from shared.auth import Principal
from shared.contracts.access import CASE_ACCESS_PATH, CaseAccessAnswer, CaseAccessQuery

log = logging.getLogger("intake.attachment")


class CaseAccessClient:
    def __init__(self, cases_url: str, service_token: str, timeout_seconds: float = 2.0) -> None:
        self._url = cases_url.rstrip("/") + CASE_ACCESS_PATH
        self._client = httpx.AsyncClient(timeout=timeout_seconds, headers={"Authorization": f"Bearer {service_token}"})

    async def may_see(
        self, principal: Principal, report_ids: list[uuid.UUID], case_ids: list[uuid.UUID] | None = None
    ) -> bool:
        """May the caller see the case of one of these reports, or one of these cases (a document's)?"""
        if not report_ids and not case_ids:
            return False
        query = CaseAccessQuery(
            report_ids=report_ids[:100],
            case_ids=(case_ids or [])[:100],
            role=principal.role,
            department=principal.department,
            areas=list(principal.areas),
        )
        try:
            resp = await self._client.post(
                self._url, content=query.model_dump_json(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            log.warning("cases cannot answer a case-access question: %s", type(exc).__name__)
            raise CaseAccessUnavailable() from None
        if resp.status_code != 200:
            log.warning("cases answered a case-access question with %s", resp.status_code)
            raise CaseAccessUnavailable()
        try:
            return CaseAccessAnswer.model_validate_json(resp.content).visible
        except ValidationError:
            log.warning("cases answered a case-access question with an unreadable body")
            raise CaseAccessUnavailable() from None

    async def close(self) -> None:
        await self._client.aclose()
