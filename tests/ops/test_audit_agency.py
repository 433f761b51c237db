"""The audit chain of a real agency process: a registry flow over RPC leaves audit rows naming the acting user,
`congvan audit verify` checks the chains the running agency wrote (SQLite files, PostgreSQL schemas) and finds a
changed, removed or inserted row."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, delete, select, text, update

from services.common import audit
from services.common.actor import Role
from services.common.db import is_postgres
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.registry.numbering import numbering_year
from tests.agency import running_agency_process
from tests.registry.conftest import AGENCY, person, sha

ADMIN = person("quantri", Role.ADMIN)
CLERK = person("thuvt.vp", Role.CLERK)


@pytest.fixture(params=["sqlite", "postgresql"])
def agency(request, fresh_vhost, tmp_path):
    """A registry in its own agency process; yields (client, env of the deployment)."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env["DATA_DIR"] = str(data_dir)
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("pg_url")
    with running_agency_process("services.registry.service:RegistryService", fresh_vhost, tmp_path / "agency.log",
                                env, agency=AGENCY):
        client = ServiceClient(fresh_vhost, size=1, timeout=60)
        try:
            yield client, env
        finally:
            client.close()


def verify_cli(env: dict[str, str]) -> tuple[int, list[dict]]:
    done = subprocess.run([sys.executable, "-m", "infra.cli", "audit", "verify", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


def registry_engine(env: dict[str, str]):
    settings = CommonSettings(data_dir=env["DATA_DIR"], database_url=env.get("DATABASE_URL"))
    if is_postgres(settings.database_url):
        return create_engine(settings.database_url, connect_args={"options": "-csearch_path=registry__000_00_00_h60"})
    return create_engine(f"sqlite:///{settings.data_dir}/000_00_00_h60/registry.sqlite3")


def tamper(engine, *statements) -> None:
    """Someone with direct database access: drop the append-only guards, then change the log."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        for stmt in statements:
            conn.execute(stmt)


def test_registry_flow_is_audited_and_tampering_is_found(agency):
    client, env = agency
    client.call("registry", "set_agency_profile", ADMIN, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
    register = client.call("registry", "create_register", ADMIN, "incoming", numbering_year())["id"]
    doc = client.call("registry", "register_paper_incoming", CLERK,
                      {"code_number": "45", "code_notation": "UBND-VX", "subject": "Về việc kiểm toán nhật ký",
                       "organ_name": "Sở Nội vụ", "issued_date": "2026-01-05"}, [sha("bản quét")], None, register)

    engine = registry_engine(env)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(audit.generic_log).order_by(audit.generic_log.c.seq)).all()
        by_entity = {(r.entity, r.action): r for r in rows}
        assert by_entity[("agency_profile", "insert")].actor == "quantri"
        assert by_entity[("register", "insert")].actor == "quantri"
        document = by_entity[("document", "insert")]
        assert document.actor == "thuvt.vp" and document.agency == AGENCY
        assert document.entity_id == str(doc["id"]) or doc["id"] in document.details
        details = json.loads(document.details)
        assert details["via"] == "registry.register_paper_incoming"
        assert details["values"]["subject"] == "Về việc kiểm toán nhật ký"
        assert ("attachment", "insert") in by_entity and ("history", "insert") in by_entity
        assert ("register", "update") in by_entity                    # the register's counter moved on
        assert not any(r.entity == "outbox" for r in rows)

        shown = subprocess.run([sys.executable, "-m", "infra.cli", "audit", "log", "--where", "registry",
                                "--entity", "document", "--actor", "thuvt.vp", "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
        listed = json.loads(shown.stdout)
        assert listed and (listed[0]["action"], listed[0]["entity_id"]) == ("insert", document.entity_id)
        assert all(r["actor"] == "thuvt.vp" and r["entity"] == "document" for r in listed)

        code, reports = verify_cli(env)
        assert code == 0, reports
        mine = [r for r in reports if "registry" in r["where"]]
        assert len(mine) == 1 and mine[0]["rows"] == len(rows) and not mine[0]["problems"]

        n = len(rows)
        changed, removed = 2, n - 2
        log = audit.generic_log
        tamper(engine, update(log).where(log.c.seq == changed).values(actor="ke.gian"),
               delete(log).where(log.c.seq == removed))
        # An inserted row: a copy of the last one, rehashed over its own content, slipped in before it.
        with engine.connect() as conn:
            last = conn.execute(select(audit.generic_log).where(audit.generic_log.c.seq == n)).one()._asdict()
        tamper(engine, update(log).where(log.c.seq == n).values(seq=n + 1))
        forged = {**last, "details": '{"forged":true}'}
        forged["row_hash"] = audit.row_hash(forged["prev_hash"], n, forged["at"], forged["agency"], forged["actor"],
                                            forged["on_behalf_of"], forged["action"], forged["entity"],
                                            forged["entity_id"], forged["details"])
        with engine.begin() as conn:
            conn.execute(audit.generic_log.insert().values(forged))
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == n
    finally:
        engine.dispose()

    code, reports = verify_cli(env)
    assert code == 1
    problems = {(p["seq"], p["kind"]) for r in reports for p in r["problems"]}
    assert (changed, "changed") in problems
    assert (removed + 1, "removed") in problems
    assert (n + 1, "inserted") in problems
