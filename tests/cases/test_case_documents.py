"""Case documents (案卷材料): a dispatcher or whistled department staff uploads a file through intake's tus
endpoint (PDF too) and attaches it to a case; cases asks intake over HTTP to confirm the upload and grant
its fetch; those who may see the case fetch it from intake, everyone else gets 404."""

from __future__ import annotations

import dataclasses
import os
import uuid

from services.intake.context import IntakeContext
from shared.context import context_of
from tests.cases.desk import registered
from tests.cases.factories import whistle
from tests.cases.helpers import act, case
from tests.intake.uploads import create, download, patch, photo, sha, upload_url

PROBLEM = "application/problem+json"


def pdf() -> bytes:
    return b"%PDF-1.7\n" + os.urandom(5_000)


async def upload(system, data: bytes, user: str, filetype: str, filename: str) -> str:
    url = upload_url(system, await create(system, data, user, filetype=filetype, filename=filename))
    resp = await patch(system, url, 0, data, user)
    assert resp.status_code == 204, resp.text
    return sha(data)


async def attach(system, case_id: str, user: str, **body):
    return await system.http.post(
        f"{system.cases_url}/v1/cases/{case_id}/documents", json=body, headers=await system.auth(user)
    )


async def test_a_mediation_agreement_is_attached_listed_and_fetched_only_within_scope(system):
    c = await registered(system, channel="visit")
    data = pdf()
    digest = await upload(system, data, "d001", "application/pdf", "调解协议书.pdf")
    resp = await attach(system, c["id"], "d001", sha256=digest, kind="agreement", title="人民调解协议书")
    assert resp.status_code == 201, resp.text
    docs = resp.json()["documents"]
    assert [(d["sha256"], d["kind"], d["title"], d["filetype"], d["size"], d["attached_by"]) for d in docs] == [
        (digest, "agreement", "人民调解协议书", "application/pdf", len(data), "dispatcher:d001")
    ]
    assert docs[0]["download"] == f"/v1/attachments/{digest}"
    assert (await case(system, c["id"]))["timeline"][-1]["action"] == "document"
    # attaching it again changes nothing (a retried write)
    again = await attach(system, c["id"], "d001", sha256=digest, kind="agreement", title="人民调解协议书")
    assert again.status_code == 201 and len(again.json()["documents"]) == 1
    # who may see the case fetches the file from intake: the centre, the county leader
    for user in ("d001", "l001"):
        got = await download(system, digest, user)
        assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "application/pdf"
    # another township's dispatcher, a department not whistled: 404, and the case is not theirs to attach to
    assert (await download(system, digest, "d101")).status_code == 404
    assert (await download(system, digest, "s001")).status_code == 404
    other = await attach(system, c["id"], "d101", sha256=digest, kind="agreement", title="x")
    assert other.status_code == 404
    # a leader sees the case but does not act on it
    assert (await attach(system, c["id"], "l001", sha256=digest, kind="record", title="x")).status_code == 403
    # once PS-DL is whistled, its staff fetch the document and attach their own record
    await act(system, "d001", c["id"], "grade")
    await whistle(system, c["id"], lead="PS-DL")
    got = await download(system, digest, "s001")
    assert got.status_code == 200 and got.content == data
    scan = photo(30_000)
    shot = await upload(system, scan, "s001", "image/jpeg", "现场.jpg")
    resp = await attach(system, c["id"], "s001", sha256=shot, kind="photo", title="现场照片")
    assert resp.status_code == 201, resp.text
    assert [d["attached_by"] for d in resp.json()["documents"]] == ["dispatcher:d001", "department_staff:s001"]
    assert (await download(system, shot, "d001")).status_code == 200
    assert (await download(system, shot, "d101")).status_code == 404


async def test_only_a_finished_upload_of_the_caller_in_an_allowed_type_is_attached(system):
    c = await registered(system, channel="letter")
    # never uploaded
    resp = await attach(system, c["id"], "d001", sha256="ab" * 32, kind="other", title="来信原件")
    assert resp.status_code == 422 and resp.headers["content-type"].startswith(PROBLEM)
    assert ["body", "sha256"] in [e["loc"] for e in resp.json()["errors"]]
    # uploaded by someone else (a grid worker's photo): a hash proves nothing
    theirs = photo(10_000)
    await upload(system, theirs, "w001", "image/jpeg", "p.jpg")
    resp = await attach(system, c["id"], "d001", sha256=sha(theirs), kind="photo", title="照片")
    assert resp.status_code == 422 and resp.json()["code"] == "document_not_uploaded"
    # a type an operator allowed for uploads but that is no case document (image, audio, PDF only)
    ctx = context_of(system.intake_app, IntakeContext)
    policy = ctx.upload_policy
    ctx.upload_policy = dataclasses.replace(policy, staff_types=policy.staff_types | {"text/plain"})
    try:
        note = f"备忘 {uuid.uuid4()}".encode()
        digest = await upload(system, note, "d001", "text/plain", "note.txt")
    finally:
        ctx.upload_policy = policy
    resp = await attach(system, c["id"], "d001", sha256=digest, kind="other", title="备忘")
    assert resp.status_code == 422 and resp.json()["code"] == "document_type_unsupported"
    assert ["body", "sha256"] in [e["loc"] for e in resp.json()["errors"]]
    # bad body: named field
    resp = await attach(system, c["id"], "d001", sha256=digest, kind="invoice", title="x")
    assert resp.status_code == 422 and ["body", "kind"] in [e["loc"] for e in resp.json()["errors"]]
    assert (await case(system, c["id"]))["documents"] == []
    # a grid worker's phone still uploads images and audio only; a PDF is for the centre and departments
    refused = await create(system, pdf(), "w001", filetype="application/pdf", filename="x.pdf")
    assert refused.status_code == 415
    # a PDF that is not one is discarded when it finishes
    fake = b"<html>" + os.urandom(100)
    url = upload_url(system, await create(system, fake, "d001", filetype="application/pdf", filename="x.pdf"))
    assert (await patch(system, url, 0, fake, "d001")).status_code == 422


async def test_while_intake_cannot_answer_attaching_is_503_and_stores_nothing(system):
    c = await registered(system, channel="online")
    digest = await upload(system, pdf(), "d001", "application/pdf", "截图.pdf")
    await system.stop_service("intake")
    try:
        resp = await attach(system, c["id"], "d001", sha256=digest, kind="record", title="网上留言截图")
        assert resp.status_code == 503 and resp.headers.get("retry-after")
        assert resp.headers["content-type"].startswith(PROBLEM)
    finally:
        await system.start_service("intake")
    assert (await case(system, c["id"]))["documents"] == []
    resp = await attach(system, c["id"], "d001", sha256=digest, kind="record", title="网上留言截图")
    assert resp.status_code == 201 and len(resp.json()["documents"]) == 1
