"""The drafting unit's part of a notation ("12/UBND-VX", NĐ 30 Phụ lục I): the abbreviation the administrator
declared for the unit, else its code; checked when declared."""

import pytest

from services.common.errors import ValidationFailed
from tests.routing.conftest import outbox_rows, pdf


def signed_event(routing, database, people, blobs, title: str) -> dict:
    draft_id = routing.create_draft(people.spec_kt, title, pdf(blobs, title), type_code="CV")["draft_id"]
    routing.submit_draft(people.spec_kt, draft_id)
    routing.approve_draft(people.head_kt, draft_id)
    routing.approve_draft(people.spec_vp, draft_id)
    routing.approve_draft(people.leader, draft_id, "Đồng ý ban hành")
    return next(e for e in outbox_rows(database, "draft_signed") if e["draft_id"] == draft_id)


def test_the_notation_uses_the_unit_s_abbreviation_else_its_code(routing, database, people, blobs, signer):
    assert signed_event(routing, database, people, blobs, "Công văn trước khi khai báo")["unit_abbr"] == "KT"
    routing.sync_units(people.admin, [{"code": "kt", "name": "Phòng Kinh tế", "abbreviation": "ktđ"}])
    event = signed_event(routing, database, people, blobs, "Công văn sau khi khai báo")
    assert (event["unit_abbr"], event["unit_name"]) == ("KTĐ", "Phòng Kinh tế")
    routing.sync_units(people.admin, [{"code": "kt", "name": "Phòng Kinh tế", "abbreviation": ""}])
    assert signed_event(routing, database, people, blobs, "Công văn khi bỏ viết tắt")["unit_abbr"] == "KT"


@pytest.mark.parametrize("bad", ["K-T", "KINHTEVAXAHOI", "Kinh tế"])
def test_an_abbreviation_that_cannot_stand_in_a_notation_is_refused(routing, people, bad):
    with pytest.raises(ValidationFailed) as refused:
        routing.sync_units(people.admin, [{"code": "kt", "name": "Phòng Kinh tế", "abbreviation": bad}])
    assert "chữ in hoa" in refused.value.message_vi
