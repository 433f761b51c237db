"""The floor bench's registration (bench/floor_service.py `registration_rows`) has the shape of a real one: a paper
registration made by the registry itself (audit chain on, as the services run it) and read back as the morning peak's
INSERT baseline reads it (bench/morning_peak.py Registrations) writes as many rows in each table, the same event and
audit entries for the same tables; and the floor's rows go into the registry's own tables on PostgreSQL."""

from __future__ import annotations

import hashlib
import itertools

import sqlalchemy as sa

from bench.floor_service import EVENT, numbered, registration_rows, write_rows
from bench.morning_peak import Registrations
from bench.registration_floor import ACTOR, AGENCY, scratch_schema
from services.common.actor import Actor, Role
from services.common.db import Database
from services.common.settings import CommonSettings
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Base
from services.registry.numbering import numbering_year

ADMIN = Actor("test-admin", "admin", AGENCY, frozenset({Role.ADMIN}))


def test_the_floor_writes_the_rows_of_a_real_paper_registration(pg_url):
    db = Database("registry", AGENCY, Base.metadata, CommonSettings(database_url=pg_url, agency_id=AGENCY),
                  audit=True)
    db.create_all()
    ops.set_agency_profile(db, ADMIN, "Ủy ban nhân dân huyện Yên Sơn", "UBND", "Tuyên Quang")
    ops.create_register(db, ADMIN, Direction.INCOMING, numbering_year())
    sha = hashlib.sha256(b"scan").hexdigest()
    ops.register_paper_incoming(db, ACTOR, {
        "code_number": "45", "code_notation": "UBND-VX", "subject": "Về việc báo cáo",
        "organ_name": "UBND huyện Yên Sơn", "issued_date": "2026-12-01", "request_key": "api:1",
        "channel": "paper"},
        [{"sha256": sha, "name": "cong-van.pdf", "content_type": "application/pdf", "size": 4, "role": "scan"}],
        detailed=True)
    db.dispose()
    read = Registrations(pg_url)
    try:
        (real,) = read.each
        floor = registration_rows(AGENCY, ACTOR.user_id, 7, sha, 4)
        assert {t: len(rows) for t, rows in floor.items()} == {t: len(rows) for t, rows in real.items()}
        assert [e["event_type"] for e in floor["outbox"]] == [e["event_type"] for e in real["outbox"]] == [EVENT]
        assert sorted(a["entity"] for a in floor["audit_log"]) == sorted(a["entity"] for a in real["audit_log"])
        for table, rows in floor.items():
            columns = set(read.tables[table].c.keys())
            assert set(rows[0]) <= columns, (table, set(rows[0]) - columns)

        scratch = scratch_schema(read.engine, "floor_test")
        with scratch.begin() as conn:
            write_rows(conn, numbered(floor, itertools.count(1)))
        with scratch.connect() as conn:
            written = {t: conn.execute(sa.select(sa.func.count()).select_from(read.tables[t])).scalar_one()
                       for t in floor}
        assert written == {t: len(rows) for t, rows in floor.items()}
    finally:
        read.engine.dispose()
