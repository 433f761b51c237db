"""Issue 18 item 9, the pure part: what the clerk reads instead of codes, and Vietnam's date between 00:00 and
07:00. The same defects on the running screens: tests/e2e/test_clerk_day.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from gateway.labels import file_kind, hub_label, province_names, register_label
from gateway.signature_labels import AWAITING_SEAL, signature_label
from infra.demo import account_line
from services.common import clock

LEADER_ONLY = {  # signing's report on a draft the leader signed, before the clerk's number and seal
    "verdict": "incomplete", "legally_valid": False,
    "summary_vi": "Các chữ ký hiện có đều hợp lệ nhưng văn bản chưa có chữ ký số của cơ quan, tổ chức (con dấu); "
                  "văn bản chưa đủ giá trị pháp lý.",
    "signatures": [{"field": "LanhDao", "role": "leader", "valid": True, "signer": "Nguyễn Văn An"}],
}


def test_a_leader_signed_draft_waiting_for_the_seal_is_not_called_invalid():
    assert signature_label(LEADER_ONLY, "invalid", waiting_issue=True) == AWAITING_SEAL
    assert AWAITING_SEAL == "Đã có chữ ký lãnh đạo, chờ văn thư cấp số và ký số cơ quan"
    # received from outside with the seal missing, it is what it is: not legally valid
    assert signature_label(LEADER_ONLY, "invalid").startswith("Không hợp lệ")
    broken = {**LEADER_ONLY, "signatures": [{"role": "leader", "valid": False}]}
    assert signature_label(broken, "invalid", waiting_issue=True).startswith("Không hợp lệ")


def test_file_types_hubs_and_registers_are_said_in_words():
    assert file_kind("application/pdf") == "PDF"
    assert file_kind("application/octet-stream", "bang-tong-hop.xlsx") == "XLSX"
    assert file_kind(None, None) == "Tệp"
    provinces = province_names([SimpleNamespace(organ_id="000.00.00.H60", name="Ủy ban nhân dân tỉnh Tuyên Quang"),
                                SimpleNamespace(organ_id="000.00.09.H60", name="Sở Nội vụ tỉnh Tuyên Quang")])
    assert provinces == {"H60": "tỉnh Tuyên Quang"}
    assert hub_label("hub.H60", {}, provinces) == "Trục liên thông văn bản tỉnh Tuyên Quang"
    assert hub_label("hub.national", {}, provinces) == "Trục liên thông văn bản quốc gia"
    assert hub_label("hub.H17", {"H17": "Trục liên thông văn bản thành phố Đà Nẵng"}, provinces) == \
        "Trục liên thông văn bản thành phố Đà Nẵng"
    assert register_label({"name": "Sổ văn bản đi năm 2026", "year": 2026}) == "Sổ văn bản đi năm 2026"
    assert register_label({"name": "Sổ công văn đi", "year": 2026}) == "Sổ công văn đi năm 2026"


def test_startup_accounts_name_roles_in_vietnamese():
    line = account_line("hoalt.vptq", "Demo-abc-1", ("clerk", "admin"), "Lê Thị Hoa")
    assert line.split()[:2] == ["hoalt.vptq", "Demo-abc-1"]
    assert "Văn thư, Quản trị" in line and "clerk" not in line


def at_utc(monkeypatch, *moment: int) -> None:
    monkeypatch.setattr(clock, "now_utc", lambda: datetime(*moment, tzinfo=UTC))


def test_today_is_vietnam_today_between_midnight_and_seven(monkeypatch):
    at_utc(monkeypatch, 2026, 12, 2, 17, 30)   # 00:30 on 3 December in Hà Nội
    assert clock.today_vn() == date(2026, 12, 3) and clock.now_vn().hour == 0
    at_utc(monkeypatch, 2026, 12, 2, 23, 59)   # 06:59
    assert clock.today_vn() == date(2026, 12, 3)
    at_utc(monkeypatch, 2026, 12, 31, 17, 30)  # the new year begins in Vietnam first: next year's registers
    assert clock.today_vn().year == 2027
