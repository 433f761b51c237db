"""The copies register's lines from the registry's rows (services/reporting/copies_register.py, pure rules)."""

from __future__ import annotations

from services.reporting.copies_register import copies_register_rows, files_and_pages


def row(**extra) -> dict:
    base = {"number_and_notation": "05/TrS-UBND", "issued_date": "2026-12-31", "type_code": "TrS",
            "copy_form": "TrS", "subject": "Về việc trích sao quyết định", "state": "issued", "files": 3,
            "appendices": 2, "made_by": "vt1", "made_by_username": "vanthu1", "recipients": [],
            "source": {"number_and_notation": "12/QĐ-UBND", "issued_date": "2026-11-21",
                       "organ_name": "UBND huyện Vị Xuyên", "page_amount": 4}}
    return {**base, **extra}


def test_a_line_reads_in_vietnamese_with_days_as_dd_mm_yyyy():
    [line] = copies_register_rows([row()], {"vt1": {"full_name": "Nguyễn Thị Mai"}})
    assert line == ["05/TrS-UBND", "31/12/2026", "Trích sao", "12/QĐ-UBND", "21/11/2026", "UBND huyện Vị Xuyên",
                    "Về việc trích sao quyết định", "3 tệp (gồm 2 phụ lục); 4 trang",
                    "Chữ ký số của cơ quan; Văn thư: Nguyễn Thị Mai", "", "Chưa gửi"]


def test_recipients_their_channel_and_the_paper_copies_given_back():
    recipients = [{"organ_id": "000.00.00.H17", "organ_name": "UBND tỉnh Tuyên Quang", "channel": "interconnect",
                   "recall_state": "accepted"},
                  {"organ_id": "giay-01", "organ_name": "Công ty A", "channel": "paper",
                   "recall_state": "paper_returned", "returned_on": "2027-01-05"}]
    [line] = copies_register_rows([row(state="recalled", recipients=recipients, source=None, files=1,
                                       appendices=0)])
    assert line[3:6] == ["", "", ""] and line[7] == "1 tệp"
    assert line[8] == "Chữ ký số của cơ quan; Văn thư: vanthu1"   # no name known: the username
    assert line[9] == "UBND tỉnh Tuyên Quang; Công ty A (bản giấy)"
    assert line[10] == ("Đã thu hồi; UBND tỉnh Tuyên Quang: đồng ý thu hồi; "
                        "Công ty A: đã nhận lại bản giấy ngày 05/01/2027")


def test_files_and_pages_when_nothing_is_known():
    assert files_and_pages({"files": 0, "source": None}) == ""
