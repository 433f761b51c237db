"""A delegate signs in the leader's field with their OWN certificate, and the signature carries the NĐ 30
signing line ("TUQ. CHỦ TỊCH") in its appearance and its reason."""

from __future__ import annotations

import subprocess

import pytest

from services.common.errors import ValidationFailed
from services.signing import domain, pki
from tests.signing.conftest import AGENCY

DELEGATE = "tuanpm.thtq"  # Phạm Minh Tuấn, Trưởng phòng Tổng hợp: a personal certificate of the demo PKI
LEADER = {"user_id": "u-leader", "full_name": "Nguyễn Văn An", "position": "Chủ tịch"}


def test_signing_line_follows_nd30():
    obo = domain.parse_on_behalf_of(LEADER)
    assert obo.form == "TUQ." and domain.authority_line(obo) == "TUQ. CHỦ TỊCH"
    assert domain.signature_text("Phạm Minh Tuấn", "Trưởng phòng Tổng hợp", "21/11/2026 09:00:00 (GMT+7)",
                                 obo).splitlines() == ["TUQ. CHỦ TỊCH", "TRƯỞNG PHÒNG TỔNG HỢP", "Phạm Minh Tuấn",
                                                       "21/11/2026 09:00:00 (GMT+7)"]
    assert domain.signature_text("Nguyễn Văn An", "Chủ tịch", "t", None) == "Nguyễn Văn An\nt"
    kt = domain.parse_on_behalf_of({**LEADER, "form": "KT"})
    assert domain.authority_line(kt) == "KT. CHỦ TỊCH"
    assert domain.signature_reason("", "Phạm Minh Tuấn", "Trưởng phòng", obo) == \
        "TUQ. CHỦ TỊCH (Nguyễn Văn An) – Trưởng phòng Phạm Minh Tuấn thừa ủy quyền ký: Phê duyệt và ký ban hành"
    assert domain.parse_on_behalf_of(None) is None


@pytest.mark.parametrize("bad", [{"user_id": "u", "full_name": "An"}, {**LEADER, "form": "XYZ"},
                                 {**LEADER, "position": "Chủ\ntịch"}, "u-leader"])
def test_incomplete_delegation_is_refused(bad):
    with pytest.raises(ValidationFailed):
        domain.parse_on_behalf_of(bad)


def test_demo_pki_issues_personal_certificates_to_delegates(test_pki):
    people = {p["username"]: p for p in pki.personal_certificates(test_pki, AGENCY)}
    assert people[DELEGATE]["name"] == "Phạm Minh Tuấn" and people[DELEGATE]["title"] == "Trưởng phòng Tổng hợp"
    assert (test_pki.dir / people[DELEGATE]["p12"]).exists()


def test_delegate_signs_with_own_key_and_the_document_verifies(signing, draft_bytes):
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    signed = signing.sign_leader(prepared["sha256"], DELEGATE, "Đồng ý ban hành", LEADER)
    again = signing.sign_leader(prepared["sha256"], DELEGATE, "Đồng ý ban hành", LEADER)
    assert again == signed  # a redelivered request does not sign twice
    shown = subprocess.run(["pdftotext", "-", "-"], input=signing.blobs.read(signed["sha256"]), capture_output=True,
                           check=True).stdout.decode()
    assert "TUQ. CHỦ TỊCH\nTRƯỞNG PHÒNG TỔNG HỢP\nPhạm Minh Tuấn\n" in shown  # the appearance, in Vietnamese
    sealed = signing.fill_and_seal(signed["sha256"], "Số: 21/UBND-TH", "Tuyên Quang, ngày 21 tháng 11 năm 2026",
                                   "21/UBND-TH")
    report = signing.verify(sealed["sha256"])
    assert report["verdict"] == "valid" and report["legally_valid"] is True
    personal = next(s for s in report["signatures"] if s["field"] == "LanhDao")
    assert personal["signer"] == "Phạm Minh Tuấn" and personal["valid"] and personal["trusted"]
    assert personal["reason"] == ("TUQ. CHỦ TỊCH (Nguyễn Văn An) – Trưởng phòng Tổng hợp Phạm Minh Tuấn "
                                  "thừa ủy quyền ký: Đồng ý ban hành")
