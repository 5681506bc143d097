"""Department staff and department systems see the photos of the cases whistled (吹哨) to their
department: intake asks cases, and answers 503 with Retry-After when cases cannot answer."""

from __future__ import annotations

import asyncio

from services.intake.attachment.download.clients import CaseAccessClient
from services.intake.context import IntakeContext
from shared.context import context_of
from tests.cases.helpers import act, dept_token
from tests.intake.factories import GRID_W001, report
from tests.intake.uploads import download, photo, sha, upload_whole
from tests.support import DEMO_PASSWORD

PROBLEM = "application/problem+json"


async def case_with_photo(system) -> tuple[str, bytes]:
    data = photo(20_000)
    await upload_whole(system, data, "w001")
    item = report(grid=GRID_W001, attachments=[f"sha256:{sha(data)}"])
    resp = await system.http.post(
        f"{system.intake_url}/v1/sync/push",
        json={"device_id": "dev-w001", "items": [item]},
        headers=await system.auth("w001", "dev-w001"),
    )
    assert resp.json()["results"][0]["status"] == "accepted", resp.text
    await system.drain()
    found = await system.http.get(
        f"{system.cases_url}/v1/cases", params={"report": item["id"]}, headers=await system.auth("d001")
    )
    return found.json()["items"][0]["id"], data


async def staff_of_another_department(system) -> str:
    doc = {
        "users": [
            {
                "username": "s101",
                "name": "郑十一",
                "role": "department_staff",
                "department": "PS-SCH",
                "areas": ["620602108"],
                "password": DEMO_PASSWORD,
            }
        ]
    }
    resp = await system.http.post(f"{system.cases_url}/v1/admin/org", json=doc, headers=await system.auth("admin"))
    assert resp.status_code == 200, resp.text
    await system.drain()
    return "s101"


async def fetch_as_system(system, digest: str, client_id: str):
    return await system.http.get(
        f"{system.intake_url}/v1/attachments/{digest}", headers=await dept_token(system, client_id)
    )


async def test_staff_and_system_of_the_whistled_department_get_the_photo_others_404(system):
    case_id, data = await case_with_photo(system)
    digest = sha(data)
    other_staff = await staff_of_another_department(system)
    # not whistled yet: no department sees it
    assert (await download(system, digest, "s001")).status_code == 404
    assert (await act(system, "d001", case_id, "grade")).status_code == 200
    resp = await act(
        system,
        "d001",
        case_id,
        "whistle",
        {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "需派出所处置"},
    )
    assert resp.status_code == 200, resp.text

    got = await download(system, digest, "s001")
    assert got.status_code == 200 and got.content == data
    got = await fetch_as_system(system, digest, "ps-dl")
    assert got.status_code == 200 and got.content == data
    for resp in (await download(system, digest, other_staff), await fetch_as_system(system, digest, "ps-sch")):
        assert resp.status_code == 404 and resp.headers["content-type"].startswith(PROBLEM)


async def test_department_download_is_503_with_retry_after_while_cases_is_away(system):
    case_id, data = await case_with_photo(system)
    assert (await act(system, "d001", case_id, "grade")).status_code == 200
    assert (
        await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "需派出所处置"},
        )
    ).status_code == 200
    assert (await download(system, sha(data), "s001")).status_code == 200  # intake has the signing keys now
    await system.stop_service("cases")
    try:
        resp = await download(system, sha(data), "s001")
        assert resp.status_code == 503, resp.text
        assert resp.headers["retry-after"].isdigit() and resp.headers["content-type"].startswith(PROBLEM)
        assert (
            await download(system, sha(data), "d001")
        ).status_code == 200  # area-scoped callers need no answer from cases
    finally:
        await system.start_service("cases")
    assert (await download(system, sha(data), "s001")).status_code == 200


class SlowCases:
    """cases' case-access answer, held back until `release` is set (a real HTTP server on a free port)."""

    def __init__(self, expected: int = 0) -> None:
        self.release = asyncio.Event()
        self.waiting = 0
        self.expected = expected
        self.all_waiting = asyncio.Event()  # set once `expected` requests are held
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        await reader.readexactly(length)
        self.waiting += 1
        if self.waiting >= self.expected:
            self.all_waiting.set()
        await self.release.wait()
        body = b'{"visible": true}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.close()


async def test_department_downloads_waiting_on_a_slow_cases_hold_no_database_connection(system):
    case_id, data = await case_with_photo(system)
    assert (await act(system, "d001", case_id, "grade")).status_code == 200
    assert (
        await act(
            system,
            "d001",
            case_id,
            "whistle",
            {"departments": [{"code": "PS-DL", "role": "lead"}], "reason": "需派出所处置"},
        )
    ).status_code == 200
    app = system.intake_app
    pool = app.state.db.engine.pool
    burst = pool.size() + pool._max_overflow + 2  # more department downloads than the pool can lend
    slow = SlowCases(expected=burst)
    ctx = context_of(app, IntakeContext)
    real = ctx.case_access
    ctx.case_access = CaseAccessClient(await slow.start(), "test-intake-token", timeout_seconds=30)
    hdrs = await system.auth("s001")
    downloads = [
        asyncio.create_task(system.http.get(f"{system.intake_url}/v1/attachments/{sha(data)}", headers=hdrs))
        for _ in range(burst)
    ]
    try:
        await asyncio.wait_for(slow.all_waiting.wait(), timeout=10)  # every download is waiting for cases
        assert slow.waiting == burst
        assert pool.checkedout() == 0
        # meanwhile a phone still pushes at once
        pushed = await asyncio.wait_for(
            system.http.post(
                f"{system.intake_url}/v1/sync/push",
                json={"device_id": "dev-w001", "items": [report(grid=GRID_W001)]},
                headers=await system.auth("w001", "dev-w001"),
            ),
            timeout=5,
        )
        assert pushed.json()["results"][0]["status"] == "accepted", pushed.text
    finally:
        slow.release.set()
        results = await asyncio.gather(*downloads)
        await ctx.case_access.close()
        ctx.case_access = real
        await slow.stop()
    assert [(r.status_code, r.content == data) for r in results] == [(200, True)] * burst
