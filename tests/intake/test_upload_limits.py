"""Uploads beyond the basics: a worker's daily quota, the file's own bytes against its declared type,
tus `X-HTTP-Method-Override`, and 404 for an expired upload so a stock client creates it anew."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from services.intake.context import IntakeContext
from shared.clock import CHINA_TZ, ManualClock, clock
from shared.context import context_of
from tests.intake.uploads import (
    OCTETS,
    blob,
    create,
    head,
    headers,
    patch,
    photo,
    scalar,
    sha,
    upload_url,
)

# a worker of its own, so the day's counts are this module's alone
WORKER = "w002"


@contextmanager
def daily_limits(system, **limits: int) -> Iterator[None]:
    ctx = context_of(system.intake_app, IntakeContext)
    old = ctx.upload_policy
    ctx.upload_policy = dataclasses.replace(old, **limits)
    try:
        yield
    finally:
        ctx.upload_policy = old


async def used_today(system) -> tuple[int, int]:
    """The files and bytes WORKER has begun to upload today (China time)."""
    token = (await system.auth(WORKER, f"dev-{WORKER}"))["Authorization"].split()[1]
    payload = token.split(".")[1]
    worker = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    start = clock.now().astimezone(CHINA_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    sql = "SELECT {} FROM intake.uploads WHERE worker_id = :w AND created_at >= :s"
    count = await scalar(system, sql.format("count(*)"), w=worker, s=start)
    size = await scalar(system, sql.format("COALESCE(sum(length), 0)"), w=worker, s=start)
    return int(count), int(size)


# quota ----------------------------------------------------------------------------------------


async def test_a_worker_over_the_daily_file_count_gets_429_naming_the_limit_until_the_next_china_day(system):
    await headers(system, WORKER)  # token before the clock moves
    manual = ManualClock()
    clock.use(manual)
    try:
        count, _ = await used_today(system)
        with daily_limits(system, daily_count=count + 2, daily_bytes=0):
            for _ in range(2):
                assert (await create(system, photo(2000), WORKER)).status_code == 201
            over = await create(system, photo(2000), WORKER)
            assert over.status_code == 429, over.text
            assert over.headers["content-type"].startswith("application/problem+json")
            body = over.json()
            assert body["code"] == "upload_quota_exceeded"
            assert f"每天最多上传 {count + 2} 个文件" in body["detail"]
            assert over.headers["tus-resumable"] == "1.0.0"
            local = manual.now().astimezone(CHINA_TZ)
            midnight = (local.replace(hour=0, minute=0, second=0, microsecond=0)).timestamp() + 86400
            assert abs(int(over.headers["retry-after"]) - (midnight - manual.now().timestamp())) <= 2
            manual.advance(days=1)  # a new China-time day
            assert (await create(system, photo(2000), WORKER)).status_code == 201
    finally:
        clock.reset()


async def test_a_worker_over_the_daily_bytes_gets_429_naming_the_limit(system):
    _, size = await used_today(system)
    with daily_limits(system, daily_bytes=size + 5000, daily_count=0):
        assert (await create(system, photo(4000), WORKER)).status_code == 201
        over = await create(system, photo(2000), WORKER)
        assert over.status_code == 429, over.text
        assert "每天最多上传" in over.json()["detail"] and "字节" in over.json()["detail"]
        assert over.json()["errors"][0]["loc"] == ["Upload-Length"]


# the file's own bytes -------------------------------------------------------------------------

MAGIC = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
    "audio/amr": b"#!AMR\n",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "audio/mp4": b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00",
    "audio/aac": b"\xff\xf1\x50\x80\x02\x1f\xfc",
    "audio/wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "audio/ogg": b"OggS\x00\x02\x00\x00",
    "audio/webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
}


@pytest.mark.parametrize("filetype", sorted(MAGIC))
async def test_a_file_whose_bytes_match_its_declared_type_is_stored(system, filetype):
    data = MAGIC[filetype] + os.urandom(3000)
    url = upload_url(system, await create(system, data, filetype=filetype))
    resp = await patch(system, url, 0, data)
    assert resp.status_code == 204, (filetype, resp.text)
    assert blob(system, sha(data)).read_bytes() == data


@pytest.mark.parametrize(
    ("filetype", "start"),
    [
        ("image/png", MAGIC["image/jpeg"]),
        ("image/jpeg", b"<svg xmlns='http://www.w3.org/2000/svg'>"),
        ("audio/wav", MAGIC["image/webp"]),
        ("audio/amr", b"MZ\x90\x00\x03\x00"),  # a Windows program
        ("image/heic", MAGIC["audio/mp4"]),
    ],
)
async def test_a_file_whose_bytes_are_not_its_declared_type_is_discarded(system, filetype, start):
    data = start + os.urandom(3000)
    url = upload_url(system, await create(system, data, filetype=filetype))
    assert (await patch(system, url, 0, data[:1000])).status_code == 204
    resp = await patch(system, url, 1000, data[1000:])
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "validation_error" and filetype in body["detail"]
    assert body["errors"][0]["loc"] == ["Upload-Metadata", "filetype"]
    assert body["errors"][0]["type"] == "file_content_mismatch"
    assert not blob(system, sha(data)).exists()
    assert await scalar(system, "SELECT count(*) FROM intake.attachments WHERE sha256 = :h", h=sha(data)) == 0
    assert (await head(system, url)).status_code == 404


async def test_tuspy_upload_of_a_mislabelled_file_fails_and_nothing_is_stored(system):
    data = b"GIF89a" + os.urandom(100_000)
    tus = tus_client.TusClient(f"{system.intake_url}/v1/attachments", headers=await system.auth("w001", "dev-w001"))
    uploader = tus.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=40_000,
        metadata={"sha256": sha(data), "filetype": "image/jpeg", "filename": "改名的.jpg"},
    )
    with pytest.raises(TusCommunicationError) as failed:
        await asyncio.to_thread(uploader.upload)
    assert failed.value.status_code == 422
    assert not blob(system, sha(data)).exists()


# X-HTTP-Method-Override -----------------------------------------------------------------------


async def test_post_with_method_override_is_handled_as_patch_head_and_delete(system):
    data = photo(30_000)
    url = upload_url(system, await create(system, data))
    hdrs = await headers(system)
    first = await system.http.post(
        url,
        headers={**hdrs, **OCTETS, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"},
        content=data[:10_000],
    )
    assert first.status_code == 204, first.text
    assert first.headers["upload-offset"] == "10000"
    state = await system.http.post(url, headers={**hdrs, "X-HTTP-Method-Override": "HEAD"})
    assert state.status_code == 200 and state.headers["upload-offset"] == "10000" and state.content == b""
    gone = await system.http.post(url, headers={**hdrs, "X-HTTP-Method-Override": "DELETE"})
    assert gone.status_code == 204, gone.text
    assert (await head(system, url)).status_code == 404
    # a plain POST to an upload is still not a thing
    assert (await system.http.post(url, headers=hdrs)).status_code == 405


# expiry ---------------------------------------------------------------------------------------


async def test_an_expired_upload_is_404_so_a_client_creates_it_anew(system):
    data = photo(20_000)
    manual = ManualClock()
    await headers(system)
    clock.use(manual)
    try:
        url = upload_url(system, await create(system, data))
        assert (await patch(system, url, 0, data[:5000])).status_code == 204
        manual.advance(hours=25)
        expired = await head(system, url)
        assert expired.status_code == 404
        resp = await patch(system, url, 5000, data[5000:])
        assert resp.status_code == 404 and resp.json()["code"] == "upload_expired", resp.text
        assert resp.json()["detail"] == "上传已过期，请重新上传"
    finally:
        clock.reset()
