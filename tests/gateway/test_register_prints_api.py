"""GET /api/v1/register-prints on the demo deployment: Văn phòng Chính phủ's copies register (Sổ bản sao) printed
over REST with a bearer token, as XLSX and PDF, holds a sao y of a paper arrival sent on paper, with its original;
the incoming and outgoing registers come the same way; a specialist and a department head are refused, and another
agency's clerk gets their own agency's register, without this copy."""

from __future__ import annotations

import io
import uuid
from contextlib import closing

from openpyxl import load_workbook

from services.common.clock import now_utc, vn_date
from services.reporting.copies_register import COPIES_COLUMNS
from tests.e2e.helpers import vietnamese_pdf
from tests.gateway.test_api import csrf_token_of, session_for, token_for
from tests.gateway.test_copies_api import ADMIN, CLERK, LEADER, OTHER_CLERK, copy_of, open_copies_register
from tests.gateway.test_paper_api import pdf_text

SPECIALIST, HEAD = "yenmt.tkbt", "binhlv.tkbt"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def a_paper_copy(clerk, subject: str) -> tuple[dict, dict]:
    """A paper arrival registered over REST, its sao y, sent on paper to a company: (the arrival, the copy)."""
    number = str(100 + uuid.uuid4().int % 9000)
    arrived = clerk.post("/api/v1/incoming/paper", headers={"x-csrf-token": csrf_token_of(clerk)},
                         data={"code_number": number, "code_notation": "BNV-VP", "subject": subject,
                               "organ_name": "Bộ Nội vụ", "issued_date": vn_date(now_utc()).isoformat()},
                         files={"files": ("ban-giay.pdf", vietnamese_pdf("BỘ NỘI VỤ", subject), "application/pdf")})
    assert arrived.status_code == 201, arrived.text
    made = copy_of(clerk, arrived.json()["id"])
    assert made.status_code == 201, made.text
    copy = made.json()
    sent = clerk.post(f"/api/v1/copies/{copy['id']}/send", json={"paper_recipients": ["Công ty TNHH Hòa Bình"]},
                      headers={"x-csrf-token": csrf_token_of(clerk)})
    assert sent.status_code == 200, sent.text
    return arrived.json(), copy


def test_the_copies_register_is_printed_over_rest(deployment):
    today = vn_date(now_utc()).isoformat()
    period = {"date_from": today, "date_to": today}
    subject = f"Về việc in sổ bản sao (mã {uuid.uuid4().hex[:6]})"
    with closing(session_for(deployment, CLERK)) as clerk, closing(session_for(deployment, ADMIN)) as admin:
        open_copies_register(admin)
        arrival, copy = a_paper_copy(clerk, subject)
    number = f"{copy['code_number']}/{copy['code_notation']}"
    with closing(token_for(deployment, CLERK)) as api:
        got = api.get("/api/v1/register-prints", params={"register": "copies", "format": "xlsx", **period})
        assert got.status_code == 200 and got.headers["content-type"] == XLSX, got.text[:500]
        assert f"so-ban-sao-{today}-{today}.xlsx" in got.headers["content-disposition"]
        sheet = load_workbook(io.BytesIO(got.content)).active
        assert sheet["A2"].value == "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN"
        assert [sheet.cell(5, c).value for c in range(1, 12)] == [c[0] for c in COPIES_COLUMNS]
        row = next(r for r in sheet.iter_rows(min_row=7, values_only=True) if r[0] == number)
        day = vn_date(now_utc()).strftime("%d/%m/%Y")
        assert row[1:7] == (day, "Sao y", f"{arrival['code_number'].zfill(2)}/BNV-VP", day, "Bộ Nội vụ", subject)
        assert row[8].startswith("Chữ ký số của cơ quan; Văn thư: ")
        assert row[9] == "Công ty TNHH Hòa Bình (bản giấy)"

        pdf = api.get("/api/v1/register-prints", params={"register": "copies", **period})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        flat = " ".join(pdf_text(pdf.content).split())
        assert "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN" in flat and number in flat and "Sao y" in flat
        for register in ("incoming", "outgoing"):
            other = api.get("/api/v1/register-prints", params={"register": register, "format": "xlsx", **period})
            assert other.status_code == 200 and other.headers["content-type"] == XLSX
        bad = api.get("/api/v1/register-prints", params={"register": "drafts"})
        assert bad.status_code == 422

    with closing(token_for(deployment, LEADER)) as leader:
        assert leader.get("/api/v1/register-prints", params={"register": "copies", **period}).status_code == 200
    for username in (SPECIALIST, HEAD):
        with closing(token_for(deployment, username)) as refused:
            got = refused.get("/api/v1/register-prints", params={"register": "copies", **period})
            assert got.status_code == 403, (username, got.text)
    with closing(token_for(deployment, OTHER_CLERK)) as other:
        got = other.get("/api/v1/register-prints", params={"register": "copies", "format": "xlsx", **period})
        assert got.status_code == 200
        values = [c for r in load_workbook(io.BytesIO(got.content)).active.iter_rows(values_only=True) for c in r]
        assert subject not in values and number not in values   # its own copies carry its own notation
