"""Attachments over tus 1.0.0: resumable, verified against the declared sha256, stored once, and
fetched only by those who may see a report that references them."""

from __future__ import annotations

import asyncio
import io
import os
import uuid

from tusclient import client as tus_client

from services.intake.attachment.jobs import purge_expired_uploads
from services.intake.attachment.storage import AttachmentStore
from shared.clock import ManualClock, clock
from tests.intake.factories import GRID_W001, GRID_W002, report
from tests.intake.uploads import (
    OCTETS,
    TUS,
    attachments_dir,
    b64,
    blob,
    checksum,
    create,
    download,
    head,
    headers,
    metadata,
    partial,
    patch,
    photo,
    scalar,
    sha,
    upload_url,
    upload_whole,
)

# protocol -------------------------------------------------------------------------------------


async def test_options_advertises_tus_capabilities_without_a_token(system):
    resp = await system.http.options(f"{system.intake_url}/v1/attachments")
    assert resp.status_code == 204
    assert resp.headers["tus-resumable"] == "1.0.0"
    assert resp.headers["tus-version"] == "1.0.0"
    assert {"creation", "checksum", "expiration", "termination"} <= set(resp.headers["tus-extension"].split(","))
    assert int(resp.headers["tus-max-size"]) == system.settings["intake"].attachment_max_bytes
    assert set(resp.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256", "md5"}


async def test_request_without_tus_resumable_is_412_with_tus_version(system):
    data = photo(1000)
    hdrs = await system.auth("w001", "dev-w001")
    hdrs.update({"Upload-Length": str(len(data)), "Upload-Metadata": metadata(data)})
    resp = await system.http.post(f"{system.intake_url}/v1/attachments", headers=hdrs)
    assert resp.status_code == 412
    assert resp.headers["tus-version"] == "1.0.0"
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_grid_workers_dispatchers_and_department_staff_create_uploads_and_a_token_is_required(system):
    data = photo(1000)
    anonymous = await system.http.post(
        f"{system.intake_url}/v1/attachments",
        headers={**TUS, "Upload-Length": "1000", "Upload-Metadata": metadata(data)},
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["tus-resumable"] == "1.0.0"
    assert (await create(system, data, "l001")).status_code == 404  # leaders read; they attach nothing
    assert (await create(system, data, "admin")).status_code == 404
    for user in ("w001", "d001", "s001"):  # phones; the centre and department staff (case documents)
        assert (await create(system, photo(1000), user)).status_code == 201


# uploads --------------------------------------------------------------------------------------


async def test_tuspy_client_uploads_a_photo_in_chunks_with_checksums(system):
    data = photo(300_000)
    auth = await system.auth("w001", "dev-w001")
    tus = tus_client.TusClient(f"{system.intake_url}/v1/attachments", headers=auth)
    uploader = tus.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=64 * 1024,
        metadata={"sha256": sha(data), "filetype": "image/jpeg", "filename": "现场照片.jpg"},
        upload_checksum=True,
    )
    await asyncio.to_thread(uploader.upload)
    assert uploader.offset == len(data)
    assert blob(system, sha(data)).read_bytes() == data
    assert not partial(system, uploader.url).exists()

    resp = await download(system, sha(data))
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["content-type"] == "image/jpeg"
    assert resp.headers["x-content-type-options"] == "nosniff"


async def test_resumable_upload_in_several_chunks_with_head_between(system):
    data = photo(250_000)
    created = await create(system, data)
    url = upload_url(system, created)
    assert created.headers["upload-offset"] == "0"
    assert created.headers["tus-resumable"] == "1.0.0"
    assert "upload-expires" in created.headers

    offset = 0
    for size in (100_000, 100_000, 50_000):
        state = await head(system, url)
        assert state.status_code == 200
        assert state.headers["upload-offset"] == str(offset)
        assert state.headers["upload-length"] == str(len(data))
        assert state.headers["cache-control"] == "no-store"
        assert state.headers["tus-resumable"] == "1.0.0"
        resp = await patch(system, url, offset, data[offset : offset + size])
        assert resp.status_code == 204, resp.text
        offset += size
        assert resp.headers["upload-offset"] == str(offset)

    assert (await head(system, url)).headers["upload-offset"] == str(len(data))
    assert blob(system, sha(data)).read_bytes() == data
    assert await scalar(system, "SELECT size FROM intake.attachments WHERE sha256 = :h", h=sha(data)) == len(data)
    assert await scalar(
        system, "SELECT completed_at IS NOT NULL FROM intake.uploads WHERE id = :i", i=uuid.UUID(url.rsplit("/", 1)[-1])
    )


async def test_chunked_transfer_without_content_length_is_streamed(system):
    data = photo(150_000)
    url = upload_url(system, await create(system, data))

    async def body():
        for i in range(0, len(data), 16_384):
            yield data[i : i + 16_384]

    resp = await patch(system, url, 0, body())
    assert resp.status_code == 204, resp.text
    assert blob(system, sha(data)).read_bytes() == data


async def test_wrong_offset_is_409_and_changes_nothing(system):
    data = photo(50_000)
    url = upload_url(system, await create(system, data))
    assert (await patch(system, url, 0, data[:20_000])).status_code == 204

    for wrong in (0, 10_000, 30_000):
        resp = await patch(system, url, wrong, data[wrong : wrong + 1000])
        assert resp.status_code == 409, resp.text
        assert resp.json()["code"] == "offset_mismatch"
        assert resp.headers["tus-resumable"] == "1.0.0"
    assert (await head(system, url)).headers["upload-offset"] == "20000"
    assert partial(system, url).stat().st_size == 20_000

    assert (await patch(system, url, 20_000, data[20_000:])).status_code == 204
    assert blob(system, sha(data)).read_bytes() == data


async def test_chunk_checksum_mismatch_is_460_and_the_chunk_discarded(system):
    data = photo(60_000)
    url = upload_url(system, await create(system, data))
    assert (
        await patch(system, url, 0, data[:30_000], **{"Upload-Checksum": checksum("sha1", data[:30_000])})
    ).status_code == 204

    bad = await patch(system, url, 30_000, data[30_000:], **{"Upload-Checksum": checksum("md5", b"something else")})
    assert bad.status_code == 460
    assert bad.json()["code"] == "checksum_mismatch"
    assert bad.headers["tus-resumable"] == "1.0.0"
    assert (await head(system, url)).headers["upload-offset"] == "30000"
    assert partial(system, url).stat().st_size == 30_000

    good = await patch(system, url, 30_000, data[30_000:], **{"Upload-Checksum": checksum("sha256", data[30_000:])})
    assert good.status_code == 204
    assert blob(system, sha(data)).read_bytes() == data


async def test_unsupported_checksum_algorithm_is_400(system):
    data = photo(1000)
    url = upload_url(system, await create(system, data))
    resp = await patch(system, url, 0, data, **{"Upload-Checksum": "crc32 AAAAAA=="})
    assert resp.status_code == 400
    assert (await head(system, url)).headers["upload-offset"] == "0"


async def test_whole_file_sha256_mismatch_is_422_and_nothing_is_stored(system):
    data = photo(40_000)
    claimed = sha(b"a different photo")
    url = upload_url(system, await create(system, data, digest=claimed))
    assert (await patch(system, url, 0, data[:20_000])).status_code == 204

    resp = await patch(system, url, 20_000, data[20_000:])
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["loc"] == ["Upload-Metadata", "sha256"]

    assert (await head(system, url)).status_code == 404
    assert not partial(system, url).exists()
    assert not blob(system, sha(data)).exists() and not blob(system, claimed).exists()
    assert (
        await scalar(system, "SELECT count(*) FROM intake.attachments WHERE sha256 IN (:a, :b)", a=claimed, b=sha(data))
        == 0
    )
    assert (
        await scalar(system, "SELECT count(*) FROM intake.uploads WHERE id = :i", i=uuid.UUID(url.rsplit("/", 1)[-1]))
        == 0
    )
    assert (await download(system, claimed, "admin")).status_code == 404


async def test_oversize_upload_length_is_413(system):
    data = photo(1000)
    resp = await create(system, data, length=system.settings["intake"].attachment_max_bytes + 1)
    assert resp.status_code == 413
    assert resp.headers["tus-resumable"] == "1.0.0"
    assert "location" not in resp.headers


async def test_chunk_past_upload_length_is_413_and_nothing_appended(system):
    data = photo(10_000)
    url = upload_url(system, await create(system, data))
    assert (await patch(system, url, 0, data[:4000])).status_code == 204

    declared = await patch(system, url, 4000, data[4000:] + b"extra bytes")
    assert declared.status_code == 413

    async def streamed():  # no Content-Length: the limit is enforced while reading
        yield data[4000:]
        yield b"extra bytes"

    assert (await patch(system, url, 4000, streamed())).status_code == 413
    assert (await head(system, url)).headers["upload-offset"] == "4000"
    assert partial(system, url).stat().st_size == 4000


async def test_types_other_than_image_or_audio_are_refused_with_the_field_named(system):
    data = b"%PDF-1.7 " + os.urandom(1000)
    resp = await create(system, data, filetype="application/pdf")
    assert resp.status_code == 415
    assert resp.json()["errors"][0]["loc"] == ["Upload-Metadata", "filetype"]
    missing = await create(system, data, filetype="")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["Upload-Metadata", "filetype"]


async def test_metadata_without_sha256_is_422(system):
    hdrs = {**(await headers(system)), "Upload-Length": "100", "Upload-Metadata": f"filetype {b64('image/png')}"}
    resp = await system.http.post(f"{system.intake_url}/v1/attachments", headers=hdrs)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["Upload-Metadata", "sha256"]


async def test_patch_without_offset_octet_stream_is_415(system):
    data = photo(1000)
    url = upload_url(system, await create(system, data))
    hdrs = {**(await headers(system)), "Content-Type": "application/octet-stream", "Upload-Offset": "0"}
    resp = await system.http.patch(url, headers=hdrs, content=data)
    assert resp.status_code == 415
    assert (await head(system, url)).headers["upload-offset"] == "0"


async def test_identical_file_uploaded_twice_is_stored_once(system):
    data = photo(120_000)
    await upload_whole(system, data, "w001")

    again = await create(system, data, "w001")  # the same phone sends the same photo again
    url = upload_url(system, again)
    assert again.headers["upload-offset"] == str(len(data))  # nothing left to send
    assert (await head(system, url)).headers["upload-offset"] == str(len(data))
    # a client that sends anyway (tus clients start at 0) is told the upload is finished
    resp = await patch(system, url, 0, data)
    assert resp.status_code == 204
    assert resp.headers["upload-offset"] == str(len(data))

    # another worker with the same photo sends it (the standard client), and it is still stored once
    auth = await system.auth("w101", "dev-w101")
    uploader = tus_client.TusClient(f"{system.intake_url}/v1/attachments", headers=auth).uploader(
        file_stream=io.BytesIO(data), chunk_size=50_000, metadata={"sha256": sha(data), "filetype": "image/jpeg"}
    )
    await asyncio.to_thread(uploader.upload)

    assert await scalar(system, "SELECT count(*) FROM intake.attachments WHERE sha256 = :h", h=sha(data)) == 1
    assert await scalar(system, "SELECT uploaded_by FROM intake.attachments WHERE sha256 = :h", h=sha(data)) is not None
    assert [p.name for p in blob(system, sha(data)).parent.iterdir() if p.name == sha(data)] == [sha(data)]
    assert not partial(system, url).exists() and not partial(system, uploader.url).exists()
    assert (await download(system, sha(data), "w101")).content == data


async def test_knowing_a_photos_hash_and_size_does_not_let_another_worker_fetch_it(system):
    data = photo(40_000)
    digest = sha(data)
    await upload_whole(system, data, "w001")

    claimed = await create(system, data, "w002")  # w002 only declares the hash and the size
    url = upload_url(system, claimed)
    assert claimed.headers["upload-offset"] == "0"  # not handed over as finished: the bytes are due
    assert (await download(system, digest, "w002")).status_code == 404
    pushed = await system.http.post(  # nor does naming the hash in a report of one's own
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w002", "items": [report(grid=GRID_W002, attachments=[f"sha256:{digest}"])]},
        headers=await system.auth("w002", "dev-w002"),
    )
    assert pushed.status_code == 200, pushed.text
    assert (await download(system, digest, "w002")).status_code == 404
    assert (await download(system, digest, "d001")).status_code == 404  # w002's report vouches for nothing

    assert (await patch(system, url, 0, data, "w002")).status_code == 204  # having the photo does
    assert (await download(system, digest, "w002")).content == data
    assert await scalar(system, "SELECT count(*) FROM intake.attachments WHERE sha256 = :h", h=digest) == 1


async def test_two_patches_at_once_do_not_both_append(system):
    data = photo(100_000)
    url = upload_url(system, await create(system, data))
    first_half = data[:50_000]

    async def slow_body():
        for i in range(0, len(first_half), 10_000):
            yield first_half[i : i + 10_000]
            await asyncio.sleep(0.05)

    slow = asyncio.create_task(patch(system, url, 0, slow_body()))
    await asyncio.sleep(0.1)
    fast = await patch(system, url, 0, first_half)
    results = sorted([(await slow).status_code, fast.status_code])
    assert results == [204, 409]
    assert (await head(system, url)).headers["upload-offset"] == "50000"
    assert partial(system, url).stat().st_size == 50_000


async def test_dropped_connection_keeps_the_bytes_that_arrived(system):
    data = photo(30_000)
    url = upload_url(system, await create(system, data))
    path = "/v1/attachments/uploads/" + url.rsplit("/", 1)[-1]
    auth = (await headers(system))["Authorization"]
    _, writer = await asyncio.open_connection("127.0.0.1", system.services["intake"].port)
    request = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    writer.write(request.encode() + data[:12_000])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()

    for _ in range(50):
        offset = (await head(system, url)).headers["upload-offset"]
        if offset != "0":
            break
        await asyncio.sleep(0.1)
    assert offset == "12000"
    assert (await patch(system, url, 12_000, data[12_000:])).status_code == 204
    assert blob(system, sha(data)).read_bytes() == data


async def test_another_worker_cannot_head_patch_or_delete_your_upload(system):
    data = photo(20_000)
    url = upload_url(system, await create(system, data, "w001"))
    assert (await patch(system, url, 0, data[:5000])).status_code == 204

    assert (await head(system, url, "w002")).status_code == 404
    assert (await patch(system, url, 5000, data[5000:], "w002")).status_code == 404
    assert (await system.http.delete(url, headers=await headers(system, "w002"))).status_code == 404
    assert (await head(system, url, "w001")).headers["upload-offset"] == "5000"
    assert (await head(system, system.intake_url + f"/v1/attachments/uploads/{uuid.uuid4()}")).status_code == 404
    assert (await head(system, system.intake_url + "/v1/attachments/uploads/not-a-uuid")).status_code == 404


async def test_termination_drops_an_unfinished_upload(system):
    data = photo(20_000)
    url = upload_url(system, await create(system, data))
    assert (await patch(system, url, 0, data[:5000])).status_code == 204
    resp = await system.http.delete(url, headers=await headers(system))
    assert resp.status_code == 204
    assert (await head(system, url)).status_code == 404
    assert not partial(system, url).exists()


async def test_deleting_a_finished_upload_is_409_and_the_photo_stays_visible(system):
    data = photo(20_000)
    digest = sha(data)
    url = await upload_whole(system, data)
    pushed = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [report(grid=GRID_W001, attachments=[f"sha256:{digest}"])]},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
    again = upload_url(system, await create(system, data))  # finished at creation (deduplicated)

    for finished in (url, again):
        resp = await system.http.delete(finished, headers=await headers(system))
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.headers["tus-resumable"] == "1.0.0"
        assert resp.json()["code"] == "upload_finished" and resp.json()["upload_offset"] == len(data)
        assert (await head(system, finished)).headers["upload-offset"] == str(len(data))
    for user in ("w001", "d001"):  # the sender and the township's dispatcher still see it
        got = await download(system, digest, user)
        assert got.status_code == 200 and got.content == data, user


async def test_expired_upload_is_gone_and_purged(system):
    data = photo(20_000)
    manual = ManualClock()
    await headers(system)  # tokens before the clock moves
    clock.use(manual)
    try:
        url = upload_url(system, await create(system, data))
        assert (await patch(system, url, 0, data[:5000])).status_code == 204
        manual.advance(hours=25)
        assert (await head(system, url)).status_code == 404
        assert (await patch(system, url, 5000, data[5000:])).status_code == 404
        store = AttachmentStore(attachments_dir(system))
        assert await purge_expired_uploads(system.intake_app.state.db, store) >= 1
        assert (await head(system, url)).status_code == 404
        assert not partial(system, url).exists()
    finally:
        clock.reset()


# download -------------------------------------------------------------------------------------


async def test_file_is_fetched_by_those_who_may_see_the_report_only(system):
    data = photo(30_000)
    digest = sha(data)
    await upload_whole(system, data, "w001")
    item = report(grid=GRID_W001, attachments=[f"sha256:{digest}"])
    pushed = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [item]},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "accepted"

    for user in ("w001", "d001", "l001", "admin"):  # owner, the township's dispatcher, the county leader
        resp = await download(system, digest, user)
        assert resp.status_code == 200, (user, resp.text)
        assert resp.content == data
    for user in ("d101", "w101", "w002", "s001"):  # another township, other workers, department staff
        resp = await download(system, digest, user)
        assert resp.status_code == 404, user
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await download(system, sha(b"never uploaded"), "admin")).status_code == 404
    assert (await download(system, "not-a-hash", "admin")).status_code == 404


async def test_a_file_referenced_before_it_arrives_becomes_visible_when_uploaded(system):
    data = photo(10_000)
    digest = sha(data)
    item = report(grid=GRID_W001, attachments=[f"sha256:{digest}"])
    pushed = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [item]},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert pushed.json()["results"][0].get("missing_attachments") == [f"sha256:{digest}"]
    assert (await download(system, digest, "d001")).status_code == 404
    await upload_whole(system, data, "w001")
    assert (await download(system, digest, "d001")).status_code == 200


async def test_openapi_lists_the_statuses_the_tus_routes_send(system):
    doc = (await system.http.get(f"{system.intake_url}/openapi.json")).json()
    upload = doc["paths"]["/v1/attachments/uploads/{upload_id}"]
    assert {"204", "409", "413", "415", "460", "422", "404"} <= set(upload["patch"]["responses"])
    assert {"200", "404"} <= set(upload["head"]["responses"])
    assert {"204", "404", "409"} <= set(upload["delete"]["responses"])
    assert {"201", "413", "415", "422", "412", "429"} <= set(doc["paths"]["/v1/attachments"]["post"]["responses"])
    assert {"200", "404"} <= set(doc["paths"]["/v1/attachments/{sha256}"]["get"]["responses"])


async def test_slow_uploads_from_more_phones_than_pool_connections_do_not_block_a_push(system, monkeypatch):
    """Phones on a weak network trickle their photos in; meanwhile other phones still push at once."""
    db = system.intake_app.state.db
    slow_count = db.engine.pool.size() + db.engine.pool._max_overflow + 2  # more than the pool can lend
    release = asyncio.Event()
    streaming = asyncio.Event()  # set when every PATCH has taken its lease and streams its body
    entered = 0
    receive = AttachmentStore.receive

    async def counted(self, *args, **kwargs):
        nonlocal entered
        entered += 1
        if entered == slow_count:
            streaming.set()
        return await receive(self, *args, **kwargs)

    monkeypatch.setattr(AttachmentStore, "receive", counted)
    files = [photo(20_000) for _ in range(slow_count)]
    urls = [upload_url(system, await create(system, data)) for data in files]

    def trickle(data: bytes):
        async def body():
            yield data[:5_000]
            await release.wait()
            yield data[5_000:]

        return body()

    patches = [asyncio.create_task(patch(system, url, 0, trickle(data))) for url, data in zip(urls, files, strict=True)]
    try:
        ids = [uuid.UUID(u.rsplit("/", 1)[-1]) for u in urls]
        await asyncio.wait_for(streaming.wait(), timeout=10)
        n = await scalar(
            system, "SELECT count(*) FROM intake.uploads WHERE id = ANY(:ids) AND patch_lease IS NOT NULL", ids=ids
        )
        assert n == slow_count

        pushed = await asyncio.wait_for(
            system.http.post(
                f"{system.intake_url}/v1/sync/push",
                json={"device_id": "dev-w001", "items": [report(grid=GRID_W001)]},
                headers=await system.auth("w001", "dev-w001"),
            ),
            timeout=5,
        )
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["results"][0]["status"] == "accepted"
        assert (await head(system, urls[0])).headers["upload-offset"] == "0"  # nothing recorded mid-stream
    finally:
        release.set()
        results = await asyncio.gather(*patches)
    assert [r.status_code for r in results] == [204] * slow_count
    for data in files:
        assert blob(system, sha(data)).read_bytes() == data
    assert (
        await scalar(
            system, "SELECT count(*) FROM intake.uploads WHERE id = ANY(:ids) AND patch_lease IS NOT NULL", ids=ids
        )
        == 0
    )


async def test_patch_refused_mid_stream_gives_the_upload_back_at_once(system):
    data = photo(10_000)
    url = upload_url(system, await create(system, data))

    async def too_long():  # no Content-Length: the limit is found while streaming
        yield data
        yield b"one byte too many"

    assert (await patch(system, url, 0, too_long())).status_code == 413
    resp = await patch(system, url, 0, data)  # no 409 "in progress": the lease was released
    assert resp.status_code == 204, resp.text
    assert blob(system, sha(data)).read_bytes() == data
    assert not list(partial(system, url).parent.glob(url.rsplit("/", 1)[-1] + ".*.chunk"))


async def test_a_revoked_phone_cannot_download_even_its_own_photos(system):
    device = f"lost-{uuid.uuid4().hex[:8]}"
    signed_in = await system.http.post(
        f"{system.cases_url}/v1/auth/token",
        data={"grant_type": "password", "username": "w001", "password": "demo-pass-1", "device_id": device},
    )
    hdrs = {**TUS, "Authorization": f"Bearer {signed_in.json()['access_token']}"}
    data = photo(5_000)
    created = await system.http.post(
        f"{system.intake_url}/v1/attachments",
        headers={**hdrs, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(data)},
    )
    url = upload_url(system, created)
    assert (
        await system.http.patch(url, headers={**hdrs, **OCTETS, "Upload-Offset": "0"}, content=data)
    ).status_code == 204
    fetch = f"{system.intake_url}/v1/attachments/{sha(data)}"
    assert (await system.http.get(fetch, headers=hdrs)).status_code == 200

    revoked = await system.http.post(
        f"{system.cases_url}/v1/admin/devices/{device}/revoke", headers=await system.auth("admin")
    )
    assert revoked.status_code == 200
    await system.drain()
    refused = await system.http.get(fetch, headers=hdrs)
    assert refused.status_code == 403 and refused.json()["code"] == "device_revoked"
    assert (await download(system, sha(data), "w001")).status_code == 200  # the worker's other phone still can
