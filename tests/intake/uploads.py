"""Helpers of the attachment tests: tus requests of a grid worker's phone, photos and their digests, where
the store keeps blobs and partial uploads."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from tests.support import scalar as read_scalar

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def photo(size: int = 200_000) -> bytes:
    """A fresh JPEG-looking file (random, so every test has its own content)."""
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def metadata(
    data: bytes | None = None,
    *,
    digest: str | None = None,
    filetype: str = "image/jpeg",
    filename: str = "现场照片.jpg",
) -> str:
    digest = digest or sha(data or b"")
    return f"sha256 {b64(digest)},filetype {b64(filetype)},filename {b64(filename)}"


async def headers(system, user: str = "w001") -> dict[str, str]:
    device = f"dev-{user}" if user.startswith("w") else None
    return {**TUS, **(await system.auth(user, device))}


async def create(system, data: bytes, user: str = "w001", *, length: int | None = None, **meta):
    hdrs = await headers(system, user)
    hdrs.update(
        {"Upload-Length": str(len(data) if length is None else length), "Upload-Metadata": metadata(data, **meta)}
    )
    return await system.http.post(f"{system.intake_url}/v1/attachments", headers=hdrs)


def upload_url(system, resp) -> str:
    assert resp.status_code == 201, resp.text
    location = resp.headers["location"]
    assert location.startswith("/v1/attachments/uploads/")
    return system.intake_url + location


async def patch(system, url: str, offset: int, body, user: str = "w001", **extra: str):
    hdrs = {**(await headers(system, user)), **OCTETS, "Upload-Offset": str(offset), **extra}
    return await system.http.patch(url, headers=hdrs, content=body)


async def head(system, url: str, user: str = "w001"):
    return await system.http.head(url, headers=await headers(system, user))


async def download(system, digest: str, user: str = "w001"):
    device = f"dev-{user}" if user.startswith("w") else None
    return await system.http.get(
        f"{system.intake_url}/v1/attachments/{digest}", headers=await system.auth(user, device)
    )


async def upload_whole(system, data: bytes, user: str = "w001") -> str:
    url = upload_url(system, await create(system, data, user))
    resp = await patch(system, url, 0, data, user)
    assert resp.status_code == 204, resp.text
    return url


def attachments_dir(system) -> Path:
    return Path(system.settings["intake"].attachments_dir)


def blob(system, digest: str) -> Path:
    return attachments_dir(system) / "sha256" / digest[:2] / digest[2:4] / digest


def partial(system, url: str) -> Path:
    return attachments_dir(system) / "partial" / url.rsplit("/", 1)[-1]


async def scalar(system: Any, sql: str, **params: Any) -> Any:
    """A read of intake's database."""
    return await read_scalar(system.intake_app.state.db, sql, **params)


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"
