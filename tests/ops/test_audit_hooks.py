"""Every write of an audited Database lands in its audit chain, in the same transaction, without the code calling
audit.record: ORM inserts/updates/deletes, Core statements, savepoints; on SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import ForeignKey, String, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common import audit, audit_verify
from services.common.actor import Actor
from services.common.db import Database
from services.common.outbox import enqueue, make_outbox_table


class Base(DeclarativeBase):
    pass


class Letter(Base):
    __tablename__ = "letter"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    api_token: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[str] = mapped_column(String(5000), default="")
    pages: Mapped[list[Page]] = relationship(back_populates="letter", cascade="all, delete-orphan")


class Page(Base):
    __tablename__ = "page"
    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id"))
    number: Mapped[int]
    letter: Mapped[Letter] = relationship(back_populates="pages")


outbox = make_outbox_table(Base.metadata)

CLERK = Actor(user_id="u-7", username="hunglv.vt", agency_id="000.00.00.H60", roles=frozenset({"clerk"}),
              on_behalf_of="u-1")


def worker(actor: Actor | None, method: str = "register_incoming") -> SimpleNamespace:
    """What nameko hands DatabaseProvider: service, entrypoint and the context data the actor travels in."""
    return SimpleNamespace(service_name="registry", entrypoint=SimpleNamespace(method_name=method),
                           data={"actor": actor.to_dict()} if actor else {})


@pytest.fixture
def db(settings):
    database = Database("registry", "000.00.00.H60", Base.metadata, settings, audit=True)
    database.create_all()
    audit.set_worker(worker(CLERK))
    yield database
    audit.clear_worker()
    database.dispose()


def rows(db) -> list:
    with db.engine.connect() as conn:
        return conn.execute(select(audit.generic_log).order_by(audit.generic_log.c.seq)).all()


def test_orm_insert_update_delete_are_audited_with_the_actor(db):
    import json

    with db.session() as s:
        letter = Letter(subject="Công văn số 1", api_token="bí mật", body="x" * 2000)
        letter.pages.append(Page(number=1))
        s.add(letter)
    with db.session() as s:
        letter = s.get(Letter, 1)
        letter.state = "registered"
        letter.subject = letter.subject      # set to the same value: not a change
    with db.session() as s:
        s.delete(s.get(Letter, 1))
    got = rows(db)
    assert [(r.action, r.entity, r.entity_id) for r in got[:3]] == [
        ("insert", "letter", "1"), ("insert", "page", "1"), ("update", "letter", "1")]
    assert sorted((r.action, r.entity, r.entity_id) for r in got[3:]) == [("delete", "letter", "1"),
                                                                           ("delete", "page", "1")]
    assert all(r.actor == "u-7" and r.agency == "000.00.00.H60" and r.on_behalf_of == "u-1" for r in got)
    inserted = json.loads(got[0].details)
    assert inserted["via"] == "registry.register_incoming"
    assert inserted["values"]["subject"] == "Công văn số 1"
    assert inserted["values"]["api_token"] == "***"                      # secrets are not copied into the log
    assert inserted["values"]["body"]["chars"] == 2000                   # long text is kept as its hash
    assert json.loads(got[2].details)["changes"] == {"state": ["draft", "registered"]}
    deleted = next(json.loads(r.details) for r in got[3:] if r.entity == "letter")
    assert deleted["values"]["state"] == "registered"                    # the row as it was when deleted
    assert audit_verify.verify(db).ok and audit_verify.verify(db).rows == 5


def test_core_statements_through_the_session_are_audited(db):
    with db.session() as s:
        s.add_all([Letter(id=i, subject=f"số {i}") for i in (1, 2, 3)])
    with db.session() as s:
        s.execute(update(Letter).where(Letter.id >= 2).values(state="sent"))
        s.execute(update(Letter).where(Letter.id == 99).values(state="sent"))   # touches nothing: no row
    last = rows(db)[-1]
    assert (last.action, last.entity, last.actor) == ("update", "letter", "u-7")
    assert '"rows":2' in last.details and '"state":"sent"' in last.details
    assert len(rows(db)) == 4


def test_system_work_and_technical_tables(db):
    audit.clear_worker()                          # a timer or relay outside any RPC
    with db.session() as s:
        s.add(Letter(id=1, subject="hệ thống"))
        enqueue(s, "letter_added", {"id": 1})    # the outbox only mirrors audited changes: not audited
    got = rows(db)
    assert [(r.actor, r.agency, r.entity) for r in got] == [("system", "000.00.00.H60", "letter")]


def test_rolled_back_transactions_and_savepoints_leave_nothing(db):
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(Letter(id=1, subject="bị hủy"))
        s.flush()
        raise RuntimeError("the business change failed")
    assert rows(db) == []
    with db.session() as s:
        s.add(Letter(id=1, subject="giữ"))
        s.flush()
        with pytest.raises(IntegrityError), s.begin_nested():
            s.add(Letter(id=1, subject="trùng khóa"))                   # fails in its savepoint
        with s.begin_nested():
            s.add(Letter(id=2, subject="savepoint kept"))
        try:
            with s.begin_nested():
                s.add(Letter(id=3, subject="savepoint rolled back"))
                s.flush()
                raise ValueError
        except ValueError:
            pass
    got = rows(db)
    assert [(r.entity_id, r.action) for r in got] == [("1", "insert"), ("2", "insert")]
    assert audit_verify.verify(db).ok


def test_audit_rows_commit_with_the_change_only(db):
    with db.session() as s:
        s.add(Letter(id=1, subject="một"))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM letter")).scalar() == 1
    assert len(rows(db)) == 1
    with db.session() as s:                       # a read-only transaction writes no audit row
        s.execute(select(Letter)).all()
    assert len(rows(db)) == 1
