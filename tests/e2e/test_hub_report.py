"""The province's hub operator on the real deployment: a clerk of UBND tỉnh Tuyên Quang sends a document to Sở Nội
vụ through hub H60; the operator's report (figures from hub H60's own GET /report) counts it, the XLSX and PDF
exports carry it, a clerk is refused, and the hub's endpoint refuses a request without its token."""

from __future__ import annotations

import io
import json
import re
import secrets
import subprocess

import httpx
from openpyxl import load_workbook

from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for

SENDER, RECEIVER = "000.00.00.H60", "000.00.09.H60"
OPERATOR, CLERK, RECEIVING_CLERK = "quancm.cntttq", "hoalt.vptq", "lanvt.snv"
PAGE = "/bao-cao/truc-lien-thong"


def _hub_figures(html: str, hub: str) -> dict[str, int]:
    section = html.split(f'data-hub="{hub}"', 1)[1].split("</section>", 1)[0]
    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', section.split("<h3>", 1)[0])}


def _usage(html: str, organ: str) -> dict[str, int]:
    row = html.split(f'<tr data-organ="{organ}">', 1)[1].split("</tr>", 1)[0]
    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', row)}


def _send(base: str, dep, subject: str) -> str:
    clerk = signed_in(base, CLERK, demo_password(dep, CLERK))
    form = clerk.get("/van-ban-di/gui")
    number = re.search(r'name="code_number"[^>]*value="(\d+)"', form.text).group(1)
    pdf = vietnamese_pdf("ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG", f"{subject}\nKính gửi: Sở Nội vụ tỉnh Tuyên Quang")
    sent = clerk.post("/van-ban-di/gui", data={
        "csrf_token": csrf_of(form.text), "accept_not_legally_valid": "true",
        "code_number": number, "code_notation": "UBND-VX",
        "promulgation_date": "2026-11-20", "type_code": "CV", "priority": "0", "subject": subject,
        "signer_full_name": "Nguyễn Văn An", "signer_position": "Chủ tịch", "recipients": [RECEIVER],
    }, files={"file": ("Công văn.pdf", pdf, "application/pdf")})
    assert sent.status_code == 303, sent.text[:2000]
    clerk.close()
    return number


def test_the_operator_sees_a_sent_document_in_the_hubs_report_and_exports(deployment):
    dep = deployment
    base = f"http://127.0.0.1:{dep.topology.gateway_port}"
    operator = signed_in(base, OPERATOR, demo_password(dep, OPERATOR))
    home = operator.get("/")
    assert home.status_code == 200 and f'href="{PAGE}"' in home.text
    before = operator.get(PAGE)
    assert before.status_code == 200, before.text[:1000]
    assert "Trục liên thông văn bản tỉnh Tuyên Quang" in before.text
    assert "Trục liên thông văn bản thành phố Đà Nẵng" not in before.text  # not this operator's province
    hub0, sender0, receiver0 = (_hub_figures(before.text, "H60"), _usage(before.text, SENDER),
                                _usage(before.text, RECEIVER))

    subject = f"Về việc báo cáo trục liên thông {secrets.token_hex(3)}"
    _send(base, dep, subject)
    receiver = signed_in(base, RECEIVING_CLERK, demo_password(dep, RECEIVING_CLERK))
    wait_for(lambda: subject in receiver.get("/van-ban-den/cho-tiep-nhan").text, 90,
             "the document in Sở Nội vụ's waiting-for-reception list")
    receiver.close()

    after = operator.get(PAGE).text
    hub1, sender1, receiver1 = _hub_figures(after, "H60"), _usage(after, SENDER), _usage(after, RECEIVER)
    assert hub1["sent"] >= hub0["sent"] + 1 and hub1["delivered"] >= hub0["delivered"] + 1, (hub0, hub1)
    assert sender1["sent"] >= sender0["sent"] + 1, (sender0, sender1)
    assert receiver1["received"] >= receiver0["received"] + 1, (receiver0, receiver1)
    assert "<svg" in after and "Gói tin theo trục liên thông" in after
    median = re.search(r'data-figure="median">([^<]+)<', after).group(1)
    assert median != "—" and ("giây" in median or "phút" in median or "giờ" in median), median

    xlsx = operator.get(f"{PAGE}/tai-ve", params={"dinh-dang": "xlsx"})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    hubs_row = [c.value for c in book.worksheets[0][6]]
    assert hubs_row[0] == "Trục liên thông văn bản tỉnh Tuyên Quang" and hubs_row[1] >= hub1["sent"]
    usage = {r[1]: r for r in book.worksheets[2].iter_rows(min_row=6, values_only=True)}
    assert usage[SENDER][3] >= sender1["sent"] and usage[RECEIVER][4] >= receiver1["received"]

    pdf = operator.get(f"{PAGE}/tai-ve", params={"dinh-dang": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True,
                          check=True).stdout.decode()
    for heading in ("BÁO CÁO HOẠT ĐỘNG TRỤC LIÊN THÔNG VĂN BẢN", "Số liệu theo trục", "Từ chối theo lý do",
                    "Sử dụng theo cơ quan", "Ủy ban nhân dân tỉnh Tuyên Quang"):
        assert heading in text, heading
    operator.close()

    clerk = signed_in(base, CLERK, demo_password(dep, CLERK))
    refused = clerk.get(PAGE)
    assert refused.status_code == 403 and "Vận hành trục liên thông" in refused.text
    assert clerk.get(f"{PAGE}/tai-ve", params={"dinh-dang": "xlsx"}).status_code == 403
    clerk.close()


def test_the_hubs_report_endpoint_requires_its_token(deployment):
    hubs = json.loads(deployment.hub_reports_file.read_text())
    url = hubs["H60"]["url"]
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {hubs['H17']['token']}"}, timeout=30).status_code == 401
    ok = httpx.get(url, headers={"Authorization": f"Bearer {hubs['H60']['token']}"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["hub"] == "H60"
    served = {a.organ_id for a in deployment.topology.agencies_of("H60")}   # {SENDER, RECEIVER} and Sở Tài chính
    assert {a["organ_id"] for a in ok.json()["agencies"]} == served
