"""Issuing right (issue 18 item 7): legal-normative numbers with the year from the type's own register, recipients
by channel (only electronic ones leave), and the number of copies (column 7 of the outgoing register)."""

from __future__ import annotations

import pytest

from services.common.errors import NotFound, ValidationFailed
from services.registry import domain
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.numbering import numbering_year
from services.reporting.domain import outgoing_register_rows
from tests.registry.conftest import OTHER, sha
from tests.registry.test_flows import draft, events, fake_sign, signed_ok

ELECTRONIC = {"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"}


def test_legal_normative_notation_and_scope_rules():
    assert domain.legal_notation("QĐ-UBND", 2026) == "2026/QĐ-UBND"
    assert domain.legal_notation("2026/QĐ-UBND", 2026) == "2026/QĐ-UBND"      # never twice
    assert domain.number_display(9, "2026/QĐ-UBND") == "Số: 09/2026/QĐ-UBND"
    assert domain.legal_scope("QĐ") == "QPPL-QĐ" and domain.legal_type("QPPL-NQ") == "NQ"
    assert domain.legal_type("QĐ") is None and domain.legal_type("all") is None
    assert domain.is_legal_notation("2026/QĐ-UBND") and not domain.is_legal_notation("QĐ-UBND")
    with pytest.raises(ValidationFailed) as exc:
        domain.legal_scope("CV")                     # a công văn is never legal-normative
    assert exc.value.code == "not_legal_normative"
    domain.check_notation("2026/QĐ-UBND")


def test_a_legal_normative_decision_gets_the_year_and_its_own_series(db, edge, admin, clerk, registers):
    year = numbering_year()
    # an ordinary decision takes 01 of the general register
    plain = ops.submit_for_issue(db, edge, draft(41))
    assert ops.issue_outgoing(db, clerk, plain["id"], registers["outgoing"], [ELECTRONIC], fake_sign())["number"] == 1
    waiting = ops.submit_for_issue(db, edge, draft(42))
    with pytest.raises(NotFound) as exc:             # no register of legal-normative decisions yet
        ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], [ELECTRONIC], fake_sign(),
                           legal_normative=True)
    assert "Điều 15.1" in exc.value.message_vi
    legal = ops.create_register(db, admin, Direction.OUTGOING, year, domain.legal_scope("QĐ"))
    assert legal["name"] == f"Sổ văn bản quy phạm pháp luật (Quyết định) năm {year}"
    calls: list = []
    got = ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], [ELECTRONIC], fake_sign(calls),
                             legal_normative=True)
    assert (got["number"], got["code_notation"]) == (1, f"{year}/QĐ-UBND")   # its own series, from 01
    assert got["register_id"] == legal["id"]
    assert calls[0][1:] == ("01", calls[0][2], f"{year}/QĐ-UBND")             # the seal's text carries the year
    doc = ops.get_document(db, clerk, waiting["id"])
    assert doc["document_id"].endswith(f",01/{year}/QĐ-UBND")
    issued = next(h for h in doc["history"] if h["action"] == "issued")
    assert issued["details"]["number"] == f"Số: 01/{year}/QĐ-UBND" and issued["details"]["legal_normative"]
    package = next(p for p in events(db, "outgoing_package") if p["code_notation"] == f"{year}/QĐ-UBND")
    assert package["document_type"]["type"] == 2                               # edXML: văn bản QPPL
    # choosing the legal-normative register makes a decision legal-normative; a công văn may not use it
    third = ops.submit_for_issue(db, edge, draft(43))
    assert ops.issue_outgoing(db, clerk, third["id"], legal["id"], [ELECTRONIC], fake_sign())["code_number"] == "02"
    letter = ops.submit_for_issue(db, edge, draft(44, type_code="CV", unit_abbr="VP"))
    with pytest.raises(ValidationFailed) as wrong:
        ops.issue_outgoing(db, clerk, letter["id"], legal["id"], [ELECTRONIC], fake_sign())
    assert wrong.value.code == "not_legal_normative"
    with pytest.raises(ValidationFailed):
        ops.create_register(db, admin, Direction.INCOMING, year, domain.legal_scope("QĐ"))


def test_paper_and_internal_recipients_stay_home_and_the_copies_are_counted(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(51))
    recipients = [ELECTRONIC, {"organ_id": "giay-01", "organ_name": "Công ty TNHH Minh Phát", "channel": "paper"},
                  {"organ_id": "unit:VP", "organ_name": "Văn phòng", "channel": "internal"}]
    ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], recipients, fake_sign(), issued_amount=12)
    doc = ops.get_document(db, clerk, waiting["id"])
    assert doc["issued_amount"] == 12
    assert [(r["organ_id"], r["channel"]) for r in doc["recipients"]] == [
        (OTHER, "interconnect"), ("giay-01", "paper"), ("unit:VP", "internal")]
    (package,) = [p for p in events(db, "outgoing_package") if p["code_notation"] == "QĐ-UBND"]
    assert [t["organ_id"] for t in package["to"]] == [OTHER]        # only the electronic one is sent
    assert package["other"]["promulgation_amount"] == 12
    row = {**doc, "number_and_notation": f"{doc['code_number']}/{doc['code_notation']}"}
    (line,) = outgoing_register_rows([row])
    assert line[4] == "UBND TP Đà Nẵng; Công ty TNHH Minh Phát (bản giấy); Văn phòng (nội bộ)" and line[6] == "12"
    other = ops.submit_for_issue(db, edge, draft(52))
    for bad, code in (({**ELECTRONIC, "channel": "fax"}, "bad_channel"),):
        with pytest.raises(ValidationFailed) as exc:
            ops.issue_outgoing(db, clerk, other["id"], registers["outgoing"], [bad], fake_sign())
        assert exc.value.code == code
    with pytest.raises(ValidationFailed) as exc:
        ops.issue_outgoing(db, clerk, other["id"], registers["outgoing"], [ELECTRONIC], fake_sign(), issued_amount=0)
    assert exc.value.code == "bad_amount"


# --- electronic copies (sao y, sao lục, trích sao; NĐ 30 Điều 25–27) -----------------------------------------

def fake_seal(calls: list):
    def seal(pdf, text, operation_id=None):
        calls.append((pdf, text, operation_id))
        return {"sha256": sha(f"copy {pdf} {text.splitlines()[2]}")}
    return seal


def test_copies_have_their_own_register_numbers_and_notation(db, edge, admin, clerk, registers):
    copies = ops.create_register(db, admin, Direction.COPIES, numbering_year())
    assert copies["name"] == f"Sổ bản sao năm {numbering_year()}"
    source = ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": "Quyết định về nhân sự",
                                                      "code_notation": "QĐ-UBND"}, sha("qd"), [ELECTRONIC],
                                          registers["outgoing"], signed_ok)
    calls: list = []
    first = ops.make_copy(db, clerk, source["id"], "SY", copies["id"], fake_seal(calls))
    assert (first["code_number"], first["code_notation"], first["type_name"]) == ("01", "SY-UBND", "Bản sao y")
    pdf, text, operation = calls[0]
    assert pdf == sha("qd") and text.splitlines()[:3] == ["SAO Y", "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG",
                                                         "Số: 01/SY-UBND"]
    assert text.splitlines()[3].endswith("+07:00")                       # ISO 8601, Vietnam time
    assert operation == f"copy:{source['id']}:SY:{copies['id']}:1"
    got = ops.get_document(db, clerk, first["id"])
    assert [(lk["to"], lk["kind"]) for lk in got["links"]] == [(source["id"], "copy_of")]
    assert [a["role"] for a in got["attachments"]] == ["signed"] and got["direction"] == "copies"
    assert "copy_made" in [h["action"] for h in ops.get_document(db, clerk, source["id"])["history"]]
    second = ops.make_copy(db, clerk, source["id"], "TrS", copies["id"], fake_seal(calls), sha("extract"))
    assert (second["code_number"], second["code_notation"]) == ("02", "TrS-UBND") and calls[1][0] == sha("extract")
    assert [d["id"] for d in ops.list_copies(db, clerk)["items"]] == [second["id"], first["id"]]
    with pytest.raises(ValidationFailed) as exc:                         # trích sao needs the extract
        ops.make_copy(db, clerk, source["id"], "TrS", copies["id"], fake_seal(calls))
    assert exc.value.code == "missing_field"
    with pytest.raises(ValidationFailed) as exc:                         # the outgoing register gives no copy numbers
        ops.make_copy(db, clerk, source["id"], "SY", registers["outgoing"], fake_seal(calls))
    assert exc.value.code == "wrong_register"
    with pytest.raises(ValidationFailed):
        ops.make_copy(db, clerk, source["id"], "XX", copies["id"], fake_seal(calls))
    with pytest.raises(ValidationFailed) as exc:                         # a copy is not copied again
        ops.make_copy(db, clerk, first["id"], "SY", copies["id"], fake_seal(calls))
    assert exc.value.code == "not_copyable"
