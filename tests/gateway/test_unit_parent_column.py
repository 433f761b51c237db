"""A gateway database made before units could nest gains `units.parent_code` at start, its units kept (SQLite and
PostgreSQL); the accounts' store then nests units of one agency only (Bình Định QĐ 376 Đ4.1 Bước 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from gateway.auth import Accounts
from gateway.models import Base, open_database
from gateway.settings import GatewaySettings
from services.common.errors import ValidationFailed

H60, H17 = "000.00.00.H60", "000.00.00.H17"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    db = open_database(GatewaySettings(data_dir=tmp_path, database_url=url))
    db.create_all()
    yield db
    db.dispose()


def columns(db) -> set[str]:
    table = Base.metadata.tables["units"]
    with db.engine.connect() as conn:
        schema = conn.execution_options(schema_translate_map=db.engine.get_execution_options().get(
            "schema_translate_map")).schema_for_object(table)
        return {c["name"] for c in inspect(conn).get_columns("units", schema=schema)}


def test_an_older_database_gains_the_column_and_keeps_its_units(database):
    accounts = Accounts(database)
    accounts.save_unit(H60, "tccb", "Phòng Tổ chức cán bộ", "TCCB")
    table = Base.metadata.tables["units"]
    with database.engine.begin() as conn:  # the table as it was before this release
        name = conn.schema_for_object(table)
        conn.execute(text(f"ALTER TABLE {name + '.' if name else ''}units DROP COLUMN parent_code"))
    assert "parent_code" not in columns(database)

    database.create_all()  # what the gateway does when it starts
    assert "parent_code" in columns(database)
    [kept] = accounts.list_units(H60)
    assert (kept.code, kept.name, kept.abbreviation, kept.parent_code) == ("tccb", "Phòng Tổ chức cán bộ", "TCCB",
                                                                          None)
    unit, changes = accounts.save_unit(H60, "ccvt", "Chi cục Văn thư - Lưu trữ", parent_code="tccb")
    assert unit.parent_code == "tccb" and changes["parent_code"] == [None, "tccb"]
    renamed, changes = accounts.save_unit(H60, "ccvt", "Chi cục Văn thư - Lưu trữ tỉnh")  # parent left out: kept
    assert renamed.parent_code == "tccb" and set(changes) == {"name"}
    accounts.save_unit(H17, "thdn", "Phòng Tổng hợp")
    with pytest.raises(ValidationFailed) as other_agency:
        accounts.save_unit(H60, "ccvt", "Chi cục", parent_code="thdn")
    assert other_agency.value.code == "unknown_parent"
    assert accounts.list_units(H60)[0].parent_code == "tccb"  # nothing changed by the refusal
