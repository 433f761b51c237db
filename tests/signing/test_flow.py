"""The full flow (prepare → leader → number/date → seal), checked with pyHanko and independently with pdfsig."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from services.signing import layout, pades
from tests.signing.conftest import LEADER

NUMBER = "Số: 15/QĐ-UBND"
DATE = "Tuyên Quang, ngày 21 tháng 11 năm 2026"


def issue(signing, draft: bytes, appendices: list[bytes] = ()) -> dict:
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft).sha256)
    leader = signing.sign_leader(prepared["sha256"], LEADER, reason="Phê duyệt")
    app_shas = [signing.blobs.put_bytes(a).sha256 for a in appendices]
    return signing.fill_and_seal(leader["sha256"], NUMBER, DATE, "15/QĐ-UBND", app_shas)


def nss_db(tmp_path: Path, root_pem: Path) -> Path:
    db = tmp_path / "nss"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "congvan-test-root", "-t", "CT,C,C",
                    "-i", str(root_pem)], check=True, capture_output=True)
    return db


def pdfsig(pdf: Path, db: Path) -> str:
    return subprocess.run(["pdfsig", "-nssdir", f"sql:{db}", str(pdf)], capture_output=True, text=True,
                          check=False).stdout


def test_full_flow_gives_two_valid_trusted_signatures(signing, test_pki, draft_bytes, tmp_path):
    result = issue(signing, draft_bytes)
    report = signing.verify(result["sha256"])

    assert report["verdict"] == "valid" and report["legally_valid"] is True
    by_field = {s["field"]: s for s in report["signatures"]}
    assert set(by_field) == {"LanhDao", "DauCoQuan"}
    leader, seal = by_field["LanhDao"], by_field["DauCoQuan"]
    assert leader["role"] == "leader" and leader["signer"] == "Nguyễn Văn An" and leader["certifying"]
    assert leader["modification_level"] == "FORM_FILLING" and leader["docmdp_ok"] is True
    assert seal["role"] == "seal" and seal["coverage"] == "ENTIRE_FILE"
    for sig in (leader, seal):
        assert sig["valid"] and sig["trusted"] and sig["intact"] and sig["reasons_vi"] == []
        assert sig["trust_root"] == "Công Văn Test Root CA"
        assert sig["revocation"] == {"status": "good", "source": "CRL"}

    out = tmp_path / "issued.pdf"
    out.write_bytes(signing.blobs.read(result["sha256"]))
    text = pdfsig(out, nss_db(tmp_path, test_pki.root_pem))
    assert text.count("Signature Validation: Signature is Valid.") == 2, text
    assert text.count("Certificate Validation: Certificate is Trusted.") == 2, text
    assert "Signature Field Name: LanhDao" in text and "Signature Field Name: DauCoQuan" in text


def test_filled_fields_render_the_exact_vietnamese_strings(signing, draft_bytes, tmp_path):
    result = issue(signing, draft_bytes)
    pdf = signing.blobs.read(result["sha256"])
    assert pades.field_values(pdf) == {"so_van_ban": NUMBER, "ngay_ban_hanh": DATE}
    places = pades.field_places(pdf)
    out = tmp_path / "issued.pdf"
    out.write_bytes(pdf)
    for name, expected in (("so_van_ban", NUMBER), ("ngay_ban_hanh", DATE)):
        x1, y1, x2, y2 = places[name].rect
        # pdftotext crops in pixels at 72 dpi from the top-left corner
        top = layout.A4[1] - y2
        text = subprocess.run(["pdftotext", "-r", "72", "-x", str(int(x1) - 2), "-y", str(int(top) - 2),
                               "-W", str(int(x2 - x1) + 4), "-H", str(int(y2 - y1) + 4), "-f", "1", "-l", "1",
                               str(out), "-"], capture_output=True, text=True, check=True).stdout
        assert text.strip() == expected


def test_appendix_is_seal_signed_top_right_with_notation_and_iso_time(signing, draft_bytes, tmp_path):
    from services.signing import sample

    result = issue(signing, draft_bytes, [sample.appendix_pdf()])
    assert len(result["appendices"]) == 1
    appendix = signing.blobs.read(result["appendices"][0])
    report = signing.verify(result["appendices"][0])
    assert report["verdict"] == "valid"
    assert [s["field"] for s in report["signatures"]] == [layout.APPENDIX_FIELD]
    out = tmp_path / "appendix.pdf"
    out.write_bytes(appendix)
    x1, y1, x2, y2 = layout.appendix_rect()
    text = subprocess.run(["pdftotext", "-r", "72", "-x", str(int(x1) - 2), "-y", str(int(layout.A4[1] - y2) - 2),
                           "-W", str(int(x2 - x1) + 4), "-H", str(int(y2 - y1) + 4), "-f", "1", "-l", "1",
                           str(out), "-"], capture_output=True, text=True, check=True).stdout
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0] == "15/QĐ-UBND"
    assert lines[1].endswith("+07:00") and lines[1][4] == "-" and lines[1][10] == "T"


def test_operations_are_idempotent(signing, draft_bytes):
    sha = signing.blobs.put_bytes(draft_bytes).sha256
    first = signing.prepare_draft(sha)
    assert signing.prepare_draft(sha) == first
    leader = signing.sign_leader(first["sha256"], LEADER)
    assert signing.sign_leader(first["sha256"], LEADER) == leader
    sealed = signing.fill_and_seal(leader["sha256"], NUMBER, DATE, "15/QĐ-UBND")
    assert signing.fill_and_seal(leader["sha256"], NUMBER, DATE, "15/QĐ-UBND") == sealed


def test_idempotency_is_keyed_by_the_operation_not_the_file(signing, draft_bytes):
    """Two drafts that carry the same file are two signatures, each with its own time (issue: the second draft got
    the first draft's signed PDF); a retry of one operation gets what that operation made."""
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)["sha256"]
    first = signing.sign_leader(prepared, LEADER, operation_id="draft:1:step:0:sign")
    time.sleep(1.1)  # signing times have a one-second resolution: the second signature must be later, not equal
    second = signing.sign_leader(prepared, LEADER, operation_id="draft:2:step:0:sign")
    assert second["sha256"] != first["sha256"]
    assert signing.sign_leader(prepared, LEADER, operation_id="draft:1:step:0:sign") == first

    def signing_time(result: dict) -> str:
        return signing.verify(result["sha256"])["signatures"][0]["signing_time"]

    assert signing_time(second) > signing_time(first)

    sealed_a = signing.fill_and_seal(first["sha256"], NUMBER, DATE, "15/QĐ-UBND", operation_id="outgoing:a:seal")
    time.sleep(1.1)
    sealed_b = signing.fill_and_seal(first["sha256"], NUMBER, DATE, "15/QĐ-UBND", operation_id="outgoing:b:seal")
    assert sealed_a["sha256"] != sealed_b["sha256"]
    assert signing.fill_and_seal(first["sha256"], NUMBER, DATE, "15/QĐ-UBND",
                                 operation_id="outgoing:a:seal") == sealed_a


def test_seal_is_refused_before_the_leader_signed(signing, draft_bytes):
    from services.common.errors import ValidationFailed

    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    with pytest.raises(ValidationFailed) as err:
        signing.fill_and_seal(prepared["sha256"], NUMBER, DATE, "15/QĐ-UBND")
    assert err.value.code == "not_signed_by_leader"
