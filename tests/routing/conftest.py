"""Fixtures of the routing tests: the routing application over a fresh PostgreSQL database, a staff directory,
a controllable clock and a local blob store (real files, real hashes)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.common.actor import Actor, Role
from services.common.clock import VN_TZ
from services.common.db import Database
from services.common.settings import CommonSettings
from services.routing.app import Routing
from services.routing.models import Base, outbox
from services.storage.blobs import LocalBlobStore

AGENCY = "000.00.00.H17"
AGENCY_NAME = "Ủy ban nhân dân thành phố Đà Nẵng"


def person(user_id: str, roles: set[str], unit: str | None, full_name: str, on_behalf_of: str | None = None) -> Actor:
    return Actor(user_id=user_id, username=user_id, agency_id=AGENCY, roles=frozenset(roles), full_name=full_name,
                 unit=unit, on_behalf_of=on_behalf_of)


class People:
    """The staff of the test agency: units VP (office), KT (economy), TH (general affairs)."""

    admin = person("u-admin", {Role.ADMIN}, "VP", "Quản trị hệ thống")
    clerk = person("u-clerk", {Role.CLERK}, "VP", "Lê Thị Văn Thư")
    leader = person("u-leader", {Role.LEADER}, None, "Nguyễn Văn An")
    deputy = person("u-deputy", {Role.DEPARTMENT_HEAD}, "VP", "Trần Văn Phó")  # office chief, delegate
    head_kt = person("u-head-kt", {Role.DEPARTMENT_HEAD}, "KT", "Phạm Thị Trưởng Phòng")
    spec_kt = person("u-spec-kt", {Role.SPECIALIST}, "KT", "Hoàng Văn Chuyên")
    spec_kt2 = person("u-spec-kt2", {Role.SPECIALIST}, "KT", "Đỗ Thị Hai")
    head_th = person("u-head-th", {Role.DEPARTMENT_HEAD}, "TH", "Vũ Văn Tổng Hợp")
    spec_th = person("u-spec-th", {Role.SPECIALIST}, "TH", "Bùi Thị Ba")
    spec_vp = person("u-spec-vp", {Role.SPECIALIST}, "VP", "Ngô Văn Pháp Chế")

    def all(self) -> list[Actor]:
        return [v for v in vars(type(self)).values() if isinstance(v, Actor)]


class Clock:
    """The application's notion of now, moved by the test (deadlines and delegation periods depend on it)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment.astimezone(UTC)

    def set(self, *args: int) -> None:
        self.moment = datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def people() -> People:
    return People()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ))  # a Monday morning


@pytest.fixture
def database(pg_url) -> Iterator[Database]:
    db = Database("routing", AGENCY, Base.metadata, CommonSettings(database_url=pg_url, agency_id=AGENCY))
    db.create_all()
    yield db
    db.dispose()


@pytest.fixture
def blobs(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


class SignerDouble:
    """Stands in for the signing service (its own engineer builds it): stores a new blob and counts calls."""

    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store
        self.calls: list[tuple[str, str, str]] = []
        self.on_behalf_of: list[tuple[dict | None, str]] = []
        self.operations: list[str | None] = []
        self.available = True

    def __call__(self, pdf_sha256: str, signer_user_id: str, reason: str, on_behalf_of: dict | None = None,
                 signer_position: str = "", operation_id: str | None = None) -> dict:
        if not self.available:
            raise ConnectionError("signing service is down")
        self.calls.append((pdf_sha256, signer_user_id, reason))
        self.operations.append(operation_id)
        self.on_behalf_of.append((on_behalf_of, signer_position))
        signed = self.store.read(pdf_sha256) + f"\n%signed by {signer_user_id}".encode()
        return {"sha256": self.store.put_bytes(signed).sha256}


@pytest.fixture
def signer(blobs) -> SignerDouble:
    return SignerDouble(blobs)


@pytest.fixture
def routing(database, people, clock, blobs, signer) -> Routing:
    app = Routing(database, AGENCY, sign=signer, blobs=blobs, clock=clock)
    app.configure(people.admin, agency_name=AGENCY_NAME)
    app.sync_staff(people.admin, [
        {"user_id": p.user_id, "username": p.username, "full_name": p.full_name, "unit": p.unit,
         "roles": sorted(p.roles), "email": f"{p.user_id}@danang.gov.vn",
         "position": {"u-leader": "Chủ tịch", "u-deputy": "Chánh Văn phòng"}.get(p.user_id, "")}
        for p in people.all()])
    return app


def pdf(blobs: LocalBlobStore, text: str) -> str:
    body = f"%PDF-1.7\n% {text}\n%%EOF\n".encode()
    return blobs.put_bytes(body).sha256


def outbox_rows(database: Database, event_type: str | None = None) -> list[dict]:
    """The outbox's events of one type, or its business events: `notified` (every notification's Web Push, for the
    gateway) only when asked for by name."""
    with database.session() as session:
        query = select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.id)
        if event_type:
            query = query.where(outbox.c.event_type == event_type)
        else:
            query = query.where(outbox.c.event_type != "notified")
        return [{"event_type": r.event_type, **r.payload} for r in session.execute(query)]


def registered_event(incoming_id: str, *, external: bool = True, priority: int = 0, due_date: str | None = None,
                     subject: str = "Về việc báo cáo tình hình kinh tế quý I") -> dict:
    return {"incoming_id": incoming_id, "document_id": "000.00.00.H60,2026/02/27,12/UBND-VX", "subject": subject,
            "priority": priority, "due_date": due_date, "registered_at": "2026-03-02T08:00:00+07:00",
            "sender": {"organ_id": "000.00.00.H60", "organ_name": "Ủy ban nhân dân tỉnh Tuyên Quang"},
            "external": external, "agency_id": AGENCY}   # the receiving agency, as the registry's outbox adds it


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def restart_without(database: Database, table_name: str, column: str) -> bool:
    """Drops a later column as an older release had the table, then starts routing's schema as the service does
    (create_all, services/common/db.py add_later_columns); whether the column is there again."""
    from sqlalchemy import inspect, text

    table = Base.metadata.tables[table_name]
    with database.engine.begin() as conn:
        schema = conn.schema_for_object(table)
        conn.execute(text(f"ALTER TABLE {schema}.{table_name} DROP COLUMN {column}"))
    database.create_all()
    with database.engine.connect() as conn:
        return column in {c["name"] for c in inspect(conn).get_columns(table_name, schema=schema)}
