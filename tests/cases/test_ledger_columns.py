"""The ledger (台账) keeps what a township's paper ledger keeps: the channel and the 12345 work order, the
parties (masked), the outcome, the responsible unit, the departments whistled and the satisfaction."""

from __future__ import annotations

import csv
import io
import uuid

import openpyxl

from tests.cases.desk import registered
from tests.cases.factories import whistle
from tests.cases.helpers import act, dept_token
from tests.intake.factories import id_number, phone

COLUMNS = ["来源渠道", "12345工单号", "当事人", "化解结果", "责任单位", "参与部门", "满意度"]


async def test_the_ledger_has_channel_parties_masked_outcome_unit_departments_and_satisfaction(system):
    ref = f"GD{uuid.uuid4().hex[:10].upper()}"
    idn, tel = id_number(), phone()
    c = await registered(
        system,
        channel="hotline_12345",
        external_ref=ref,
        parties=[
            {"name": "韩某", "id_number": idn, "phone": tel, "role": "applicant"},
            {"name": "某物业公司", "role": "respondent"},
        ],
    )
    assert (await act(system, "d001", c["id"], "grade")).status_code == 200
    done = await whistle(system, c["id"], lead="PS-DL", assist=("SF-DL",))
    assert (await act(system, "d001", c["id"], "assign", {"unit": "PS-DL"})).status_code == 200
    ps = await dept_token(system, "ps-dl")
    lead = next(w for w in done["whistles"] if w["department"] == "PS-DL")
    for move in ("ack", "done"):
        r = await system.http.post(
            f"{system.cases_url}/v1/whistles/{lead['id']}/{move}", json={"note": "ok"}, headers=ps
        )
        assert r.status_code == 200, r.text
    for action, body in (
        ("resolve", {"outcome": "mediated", "note": "调解成功"}),
        ("reply", {"text": "已调解"}),
        ("revisit", {"satisfaction": "satisfied"}),
    ):
        r = await act(system, "d001", c["id"], action, body)
        assert r.status_code == 200, (action, r.text)

    hdrs = await system.auth("d001")
    resp = await system.http.get(
        f"{system.cases_url}/v1/cases", params={"format": "csv", "external_ref": ref}, headers=hdrs
    )
    assert resp.status_code == 200, resp.text
    assert idn not in resp.text and tel not in resp.text  # never in full
    rows = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"), newline="")))
    header, [row] = rows[0], rows[1:]
    assert set(COLUMNS) <= set(header)
    got = dict(zip(header, row, strict=True))
    assert got["案件编号"] == c["number"]
    assert (got["来源渠道"], got["12345工单号"], got["化解结果"], got["责任单位"], got["满意度"]) == (
        "12345热线",
        ref,
        "调解成功",
        "PS-DL",
        "满意",
    )
    assert got["参与部门"] == "PS-DL（牵头）、SF-DL（协办）"
    masked_id = idn[:4] + "*" * 10 + idn[-4:]
    masked_tel = tel[:3] + "****" + tel[-4:]
    assert got["当事人"] == f"韩某（申请人） {masked_id} {masked_tel}；某物业公司（被申请人）"

    xlsx = await system.http.get(
        f"{system.cases_url}/v1/cases", params={"format": "xlsx", "external_ref": ref}, headers=hdrs
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert cells[0] == header
    assert dict(zip(header, cells[1], strict=True))["当事人"] == got["当事人"]
    assert dict(zip(header, cells[1], strict=True))["参与部门"] == got["参与部门"]
