"""Fixtures of the operations tests: a small service-like schema (business table + outbox-style audit table)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from services.common.audit import make_audit_table
from services.common.db import Database
from services.common.settings import CommonSettings

metadata = MetaData()
letters = Table("letters", metadata, Column("id", Integer, primary_key=True), Column("subject", String(200)),
                Column("state", String(20)))
audit_log = make_audit_table(metadata)


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path) -> CommonSettings:
    if request.param == "sqlite":
        return CommonSettings(data_dir=tmp_path / "data")
    return CommonSettings(data_dir=tmp_path / "data", database_url=request.getfixturevalue("pg_url"))


@pytest.fixture
def make_db(settings) -> Iterator:
    opened: list[Database] = []

    def make(service: str = "registry", agency: str = "000.00.00.H60") -> Database:
        db = Database(service, agency, metadata, settings)
        db.create_all()
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.dispose()


def sqlite_files(data_dir: Path) -> list[Path]:
    return sorted(Path(data_dir).rglob("*.sqlite3"))
