"""Closing a register (khóa sổ), renaming it and reopening it (sửa sổ, mở lại sổ): the registry's RPCs on a real
agency process (registry alone, its own vhost), on SQLite and on PostgreSQL. Administrator of the register's own
agency only, idempotent, and a closed register refuses numbering with a Vietnamese error while the numbers it gave
stay; a reopened one continues them. Each change is in the registry's audit chain under the administrator."""

from __future__ import annotations

import os
import secrets

import pytest

from services.common import audit_verify
from services.common.actor import Actor, Role
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.registry.numbering import numbering_year
from tests.agency import running_agency_process

AGENCY, OTHER = "000.00.00.H60", "000.00.00.H17"


def person(user: str, role: str, agency: str = AGENCY) -> Actor:
    return Actor(user_id=user, username=user, agency_id=agency, roles=frozenset({role}), full_name=user)


ADMIN, CLERK = person("quantri", Role.ADMIN), person("hoalt.vp", Role.CLERK)
OTHER_ADMIN = person("quantri.dn", Role.ADMIN, agency=OTHER)


def paper(subject: str) -> dict:
    return {"code_number": str(secrets.randbelow(900) + 100), "code_notation": "UBND-VX", "subject": subject,
            "type_code": "CV", "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang"}


@pytest.fixture(params=["sqlite", "postgresql"])
def agency(request, fresh_vhost, tmp_path):
    """The registry process and where its data lives (for its audit chain)."""
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env["DATA_DIR"] = str(tmp_path / "data")
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("pg_url")
    with running_agency_process("services.registry.service:RegistryService", fresh_vhost, tmp_path / "agency.log",
                                env, agency=AGENCY):
        client = ServiceClient(fresh_vhost, size=1, timeout=60)
        try:
            yield client, CommonSettings(data_dir=env["DATA_DIR"], database_url=env.get("DATABASE_URL"))
        finally:
            client.close()


@pytest.fixture
def registry(agency):
    return agency[0]


def test_a_closed_register_gives_no_more_numbers_and_closing_is_for_its_own_admin_once(registry):
    call = registry.call
    register = call("registry", "create_register", ADMIN, "incoming", numbering_year())
    first = call("registry", "register_paper_incoming", CLERK, paper("Về việc trước khi khóa sổ"), ["a" * 64],
                 register_id=register["id"])
    assert first["number"] == 1

    with pytest.raises(Forbidden):  # a clerk cannot close
        call("registry", "close_register", CLERK, register["id"])
    with pytest.raises(NotFound):  # nor another agency's administrator: in its own agency's data no such register
        call("registry", "close_register", OTHER_ADMIN, register["id"])
    with pytest.raises(NotFound):
        call("registry", "close_register", ADMIN, "khong-co-so-nay")
    assert not call("registry", "list_registers", CLERK)[0]["closed"]

    closed = call("registry", "close_register", ADMIN, register["id"])
    assert closed["closed"] and closed["id"] == register["id"] and closed["next_number"] == 2
    again = call("registry", "close_register", ADMIN, register["id"])
    assert again == closed  # idempotent: the same closing time, nothing changed

    with pytest.raises(Conflict) as refused:
        call("registry", "register_paper_incoming", CLERK, paper("Về việc sau khi khóa sổ"), ["b" * 64],
             register_id=register["id"])
    assert refused.value.code == "register_closed"
    assert f"Sổ “{register['name']}” đã khóa ngày" in refused.value.message_vi
    assert "không thể lấy số từ sổ đã khóa" in refused.value.message_vi

    listed = call("registry", "list_registers", CLERK, numbering_year(), "incoming")
    assert [(r["id"], r["closed"], r["closed_at"]) for r in listed] == [
        (register["id"], True, closed["closed_at"])]
    assert listed[0]["next_number"] == 2  # the number given before closing stays given
    assert call("registry", "get_document", CLERK, first["id"])["number"] == 1


def audit_rows(settings: CommonSettings, entity: str) -> list[dict]:
    """The registry's audit rows about one table (its database: the agency's registry file or schema)."""
    rows = []
    for where, engine in audit_verify.discover(settings):
        if "registry" in where:
            rows += audit_verify.entries(engine, entity=entity, limit=1000)
    return rows


def test_a_register_renamed_and_reopened_over_rpc_continues_its_numbers_and_is_audited(agency):
    client, settings = agency
    call = client.call
    register = call("registry", "create_register", ADMIN, "incoming", numbering_year())
    with pytest.raises(Forbidden):
        call("registry", "update_register", CLERK, register["id"], "Sổ đến của văn thư")
    with pytest.raises(NotFound):
        call("registry", "update_register", OTHER_ADMIN, register["id"], "Sổ đến của Đà Nẵng")
    renamed = call("registry", "update_register", ADMIN, register["id"], "Sổ văn bản đến chung")
    assert renamed["name"] == "Sổ văn bản đến chung"
    assert call("registry", "update_register", ADMIN, register["id"], "Sổ văn bản đến chung") == renamed

    first = call("registry", "register_paper_incoming", CLERK, paper("Trước khi khóa"), ["c" * 64],
                 register_id=register["id"])
    call("registry", "close_register", ADMIN, register["id"])
    with pytest.raises(Forbidden):
        call("registry", "reopen_register", CLERK, register["id"], "Khóa nhầm")
    with pytest.raises(NotFound):
        call("registry", "reopen_register", OTHER_ADMIN, register["id"], "Khóa nhầm")
    reopened = call("registry", "reopen_register", ADMIN, register["id"], "Khóa nhầm", "form:mot")
    assert call("registry", "reopen_register", ADMIN, register["id"], "Khóa nhầm", "form:mot") == reopened
    assert not reopened["closed"] and reopened["reopenings"][0]["reason"] == "Khóa nhầm"
    after = call("registry", "register_paper_incoming", CLERK, paper("Sau khi mở lại"), ["d" * 64],
                 register_id=register["id"])
    assert after["number"] == first["number"] + 1

    # the audit chain names the administrator: the new name, the closing moved to the history, the closure gone
    [name_change] = [r for r in audit_rows(settings, "register") if r["action"] == "update"
                     and "Sổ văn bản đến chung" in r["details"]]
    assert name_change["actor"] == ADMIN.user_id and name_change["entity_id"] == register["id"]
    [reopening] = [r for r in audit_rows(settings, "register_reopening") if r["action"] == "insert"]
    assert reopening["actor"] == ADMIN.user_id and "Khóa nhầm" in reopening["details"]
    closure = [(r["action"], r["actor"]) for r in audit_rows(settings, "register_closure")]
    assert closure == [("insert", ADMIN.user_id), ("delete", ADMIN.user_id)]
