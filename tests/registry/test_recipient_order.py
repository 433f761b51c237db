"""The recipients keep the order the clerk chose them in, from the call to the stored document and to the edXML
package's To list and ToPlaces: NĐ 30/2020 Phụ lục I lists "Nơi nhận" in a deliberate order (to carry out, to be
informed, to keep), which neither the registry nor the outbox may sort. On SQLite and PostgreSQL (the recipients'
rows are read back by their ids, so the ids must follow the order they were added in)."""

from __future__ import annotations

from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.numbering import numbering_year
from tests.registry.conftest import sha
from tests.registry.test_flows import draft, events, fake_sign, signed_ok
from tests.registry.test_issuing import fake_seal

# against both the identifiers' order and the names' order, and long enough for a multi-row INSERT
CHOSEN = [{"organ_id": f"000.00.{n:02d}.H60", "organ_name": f"Sở thứ {n:02d} tỉnh Tuyên Quang"}
          for n in (9, 2, 31, 1, 17, 5, 26, 12, 3, 30, 8, 20)]
IDS = [r["organ_id"] for r in CHOSEN]


def _package(db, notation: str) -> dict:
    (package,) = [p for p in events(db, "outgoing_package") if p["code_notation"] == notation]
    return package


def test_a_document_sent_as_signed_keeps_its_recipients_order(db, clerk, registers):
    sent = ops.register_outgoing_signed(db, clerk, {"type_code": "CV", "subject": "Về việc thứ tự nơi nhận",
                                                    "code_notation": "UBND-TT"}, sha("thu-tu"), CHOSEN,
                                        registers["outgoing"], signed_ok)
    doc = ops.get_document(db, clerk, sent["id"])
    assert [r["organ_id"] for r in doc["recipients"]] == IDS
    package = _package(db, "UBND-TT")
    assert [t["organ_id"] for t in package["to"]] == IDS
    assert package["to_places"] == [r["organ_name"] for r in CHOSEN]


def test_an_issued_draft_keeps_its_recipients_order_with_paper_and_internal_ones_after(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(71))
    paper = {"organ_id": "giay-01", "organ_name": "Công ty TNHH Minh Phát", "channel": "paper"}
    ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], [*CHOSEN, paper], fake_sign())
    doc = ops.get_document(db, clerk, waiting["id"])
    assert [r["organ_id"] for r in doc["recipients"]] == [*IDS, "giay-01"]
    assert [t["organ_id"] for t in _package(db, "QĐ-UBND")["to"]] == IDS   # only the electronic ones leave


def test_a_copy_is_sent_in_the_order_chosen_and_again_only_to_the_new_ones_in_their_order(db, admin, clerk,
                                                                                          registers):
    copies = ops.create_register(db, admin, Direction.COPIES, numbering_year())
    source = ops.register_outgoing_signed(db, clerk, {"type_code": "QĐ", "subject": "Quyết định gốc",
                                                      "code_notation": "QĐ-UBND"}, sha("goc"), CHOSEN[:1],
                                          registers["outgoing"], signed_ok)
    copy = ops.make_copy(db, clerk, source["id"], "SY", copies["id"], fake_seal([]))
    first = ops.send_copy(db, clerk, copy["id"], CHOSEN[5:0:-1])
    assert first["sent_to"] == IDS[5:0:-1]
    again = ops.send_copy(db, clerk, copy["id"], CHOSEN[::-1])          # those sent to already are left out
    assert again["sent_to"] == [o for o in IDS[::-1] if o not in IDS[1:6]]
    doc = ops.get_document(db, clerk, copy["id"])
    assert [r["organ_id"] for r in doc["recipients"]] == first["sent_to"] + again["sent_to"]
    packages = [p for p in events(db, "outgoing_package") if p["code_notation"] == "SY-UBND"]
    assert [[t["organ_id"] for t in p["to"]] for p in packages] == [first["sent_to"], again["sent_to"]]
