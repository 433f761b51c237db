"""Registry fixtures: a registry Database on SQLite or PostgreSQL, actors of two agencies, registers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData

from services.common.actor import Actor, Role, system_actor
from services.common.db import Database
from services.common.settings import CommonSettings
from services.registry import operations as ops
from services.registry.domain import Direction
from services.registry.models import Base
from services.registry.numbering import numbering_year

AGENCY = "000.00.00.H60"
OTHER = "000.00.00.H17"


def make_db(kind: str, tmp_path, request, name: str, agency: str, metadata: MetaData) -> Database:
    """The database `name` of `agency` with the tables of `metadata`: on SQLite in `tmp_path`, or on a fresh
    PostgreSQL database (`kind` "postgres")."""
    if kind == "postgres":
        settings = CommonSettings(agency_id=agency, database_url=request.getfixturevalue("pg_url"))
    else:
        settings = CommonSettings(agency_id=agency, data_dir=tmp_path)
    db = Database(name, agency, metadata, settings)
    db.create_all()
    return db


def make_registry_db(kind: str, tmp_path, request, agency: str = AGENCY) -> Database:
    return make_db(kind, tmp_path, request, "registry", agency, Base.metadata)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    database = make_registry_db(request.param, tmp_path, request)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(request, tmp_path):
    database = make_registry_db("sqlite", tmp_path, request)
    yield database
    database.dispose()


def person(user: str, *roles: str, agency: str = AGENCY) -> Actor:
    return Actor(user_id=user, username=user, agency_id=agency, roles=frozenset(roles), full_name=user)


@pytest.fixture
def clerk() -> Actor:
    return person("thuvt.vp", Role.CLERK)


@pytest.fixture
def admin() -> Actor:
    return person("quantri", Role.ADMIN)


@pytest.fixture
def edge() -> Actor:
    return system_actor(AGENCY, "interconnect")


@pytest.fixture
def registers(db, admin) -> dict[str, str]:
    ops.set_agency_profile(db, admin, "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "Tuyên Quang")
    year = numbering_year()
    return {d: ops.create_register(db, admin, d, year)["id"] for d in (Direction.INCOMING, Direction.OUTGOING)}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def package(n: int = 12, sender: str = OTHER, doc_type: int = 0, priority: int = 0, target: str | None = None,
            to: str = AGENCY, **extra) -> dict:
    document_id = f"{sender},2026/01/05,{n}/UBND-VX"
    return {
        "kind": "edoc", "document_id": document_id,
        "business": {"doc_type": doc_type, "reason": "", "target_document_id": target, "paper": 0,
                     "replacements": []},
        "from": {"organ_id": sender, "organ_name": "Ủy ban nhân dân thành phố Đà Nẵng"},
        "to": [{"organ_id": to, "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang"}],
        "code_number": str(n), "code_notation": "UBND-VX", "promulgation_date": "2026-01-05",
        "document_type": {"type": 1, "type_name": "Công văn"}, "subject": f"Về việc số {n}",
        "signer": {"position": "Chủ tịch", "full_name": "Nguyễn Văn An"},
        "other": {"priority": priority}, "trace": [{"organ_id": "hub.H17", "timestamp": "2026-01-05T09:00:00+07:00"}],
        "attachments": [{"name": "cv.pdf", "content_type": "application/pdf", "size": 10, "sha256": sha(f"p{n}")}],
        "received_at": datetime.now(UTC).isoformat(), "raw_sha256": sha(f"raw{n}"), **extra,
    }
