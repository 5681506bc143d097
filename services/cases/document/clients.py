"""The document domain's HTTP client to intake (services speak over HTTP, never by import): confirm that
a file was uploaded (finished, by the caller) and grant its fetch to those who may see a case. A short
timeout: when intake cannot answer, attaching is 503 with Retry-After and nothing is stored."""

from __future__ import annotations

import logging

import httpx
from pydantic import ValidationError

from services.cases.document.exceptions import (
    SHA256_LOC,
    AttachmentsUnavailable,
    DocumentNotUploaded,
    DocumentTypeUnsupported,
)
from shared.contracts.attachments import (
    ATTACHMENT_GRANTS_PATH,
    DOCUMENT_NOT_STORED,
    DOCUMENT_TYPE_UNSUPPORTED,
    AttachmentGrant,
    GrantedFile,
)

log = logging.getLogger("cases.document")


class AttachmentGrantClient:
    def __init__(self, intake_url: str, service_token: str, timeout_seconds: float = 3.0) -> None:
        self._url = intake_url.rstrip("/") + ATTACHMENT_GRANTS_PATH
        self._client = httpx.AsyncClient(timeout=timeout_seconds, headers={"Authorization": f"Bearer {service_token}"})

    async def grant(self, grant: AttachmentGrant) -> GrantedFile:
        try:
            resp = await self._client.post(
                self._url, content=grant.model_dump_json(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            log.warning("intake cannot answer an attachment grant: %s", type(exc).__name__)
            raise AttachmentsUnavailable() from None
        code = _problem_code(resp)
        if resp.status_code == 404 and code == DOCUMENT_NOT_STORED:
            raise DocumentNotUploaded(SHA256_LOC)
        if resp.status_code == 422 and code == DOCUMENT_TYPE_UNSUPPORTED:
            raise DocumentTypeUnsupported(SHA256_LOC)
        if resp.status_code != 200:
            log.warning("intake answered an attachment grant with %s", resp.status_code)
            raise AttachmentsUnavailable()
        try:
            return GrantedFile.model_validate_json(resp.content)
        except ValidationError:
            log.warning("intake answered an attachment grant with an unreadable body")
            raise AttachmentsUnavailable() from None

    async def close(self) -> None:
        await self._client.aclose()


def _problem_code(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
