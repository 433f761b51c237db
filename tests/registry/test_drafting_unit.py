"""The drafting unit on the registry's outgoing document (column 6 of the outgoing register, "Đơn vị, người nhận bản
lưu"): kept from routing's hand-over, written once, returned with the register's rows and printed in column 6; a
database made before the column existed gets it when the service starts (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from services.common.actor import Role
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Base, Document
from services.registry.report_queries import register_rows
from services.reporting.domain import FILED_COPY_CLERK, filed_copy_holders, outgoing_register_rows
from tests.registry.conftest import OTHER, person
from tests.registry.test_flows import draft, fake_sign

RECIPIENTS = [{"organ_id": OTHER, "organ_name": "UBND TP Đà Nẵng"}]


def test_the_drafting_unit_is_kept_once_and_printed_in_column_6(db, edge, clerk, registers):
    waiting = ops.submit_for_issue(db, edge, draft(61, unit="THTQ", unit_name="Phòng Tổng hợp"))
    # A replayed or later event renames nothing.
    assert ops.submit_for_issue(db, edge, draft(61, unit="VPTQ", unit_name="Văn phòng"))["duplicate"]
    issued = ops.issue_outgoing(db, clerk, waiting["id"], registers["outgoing"], RECIPIENTS, fake_sign())

    day = issued["issued_date"][:10]
    rows = register_rows(db, person("lanhdao", Role.LEADER), Direction.OUTGOING, day, day)["rows"]
    row = next(r for r in rows if r["id"] == waiting["id"])
    assert (row["drafting_unit"], row["drafting_unit_name"]) == ("THTQ", "Phòng Tổng hợp")
    line = outgoing_register_rows([row])[0]
    assert line[5] == f"Phòng Tổng hợp (THTQ); {FILED_COPY_CLERK}"


def test_column_6_without_a_name_or_without_a_draft():
    assert filed_copy_holders({"drafting_unit": "thtq"}) == f"THTQ; {FILED_COPY_CLERK}"
    assert filed_copy_holders({"drafting_unit_name": "Phòng Tổng hợp"}) == f"Phòng Tổng hợp; {FILED_COPY_CLERK}"
    # Uploaded already signed by the clerk: no draft, no drafting unit.
    assert filed_copy_holders({"drafting_unit": None, "drafting_unit_name": None}) == FILED_COPY_CLERK


def test_a_database_from_before_the_column_gets_it_at_start(db, edge):
    ops.submit_for_issue(db, edge, draft(62))
    with db.engine.begin() as conn:           # the table as it was before this release
        conn.execute(text("ALTER TABLE document DROP COLUMN drafting_unit_name"))
        conn.execute(text("ALTER TABLE document DROP COLUMN drafting_unit"))
    assert "drafting_unit" not in {c["name"] for c in inspect(db.engine).get_columns("document")}

    Base.metadata.create_all(db.engine)       # what DatabaseProvider does when the registry starts
    assert {"drafting_unit", "drafting_unit_name"} <= {c["name"] for c in inspect(db.engine).get_columns("document")}
    ops.submit_for_issue(db, edge, draft(63, unit="TCCB"))
    with db.session() as session:
        old = session.query(Document).filter(Document.draft_id == "d-62").one()
        new = session.query(Document).filter(Document.draft_id == "d-63").one()
        assert (old.drafting_unit, old.drafting_unit_name, old.subject) == (None, None, "Quyết định số 62")
        assert (new.drafting_unit, new.drafting_unit_name, new.subject) == ("TCCB", None, "Quyết định số 63")
