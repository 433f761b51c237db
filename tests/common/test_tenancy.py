"""Tenancy: one installation's services serve several agencies, each agency's data physically apart.

- `Databases`: a query with no agency filter at all, ORM or raw SQL, sees only the agency's own rows (a schema per
  agency on PostgreSQL, a file per agency on SQLite), including on a pooled connection that served another agency
  just before, and after a rolled-back transaction.
- One agency process (one vhost, one set of workers) started for no agency serves two: neither agency can read or
  change the other's documents, files, drafts, handlings or tasks through RPC, and ids are each agency's own.
- Background work visits only the agencies that wrote (an idle agency costs nothing).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text

from infra import procs
from services.common.actor import Actor, Role
from services.common.db import Databases, agency_slug, schema_name
from services.common.errors import NotFound
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.registry import operations as ops
from services.registry.models import Base, Document
from services.registry.numbering import numbering_year
from services.storage.blobs import blob_store
from tests.agency import running_agency_process

A, B = "000.00.00.H60", "000.00.09.H60"   # UBND tỉnh Tuyên Quang, Sở Nội vụ: one installation, two agencies


def person(user: str, agency: str, *roles: str) -> Actor:
    return Actor(user_id=f"{user}@{agency}", username=user, agency_id=agency, roles=frozenset(roles),
                 full_name=user, unit="VP")


def paper(n: int, subject: str) -> dict:
    return {"code_number": str(n), "code_notation": "UBND-VX", "subject": subject, "organ_name": "UBND huyện",
            "issued_date": "2026-01-05"}


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path) -> CommonSettings:
    if request.param == "postgres":
        return CommonSettings(database_url=request.getfixturevalue("pg_url"), data_dir=tmp_path)
    return CommonSettings(data_dir=tmp_path)


def test_a_query_without_an_agency_filter_sees_only_its_own_agency(settings):
    databases = Databases("registry", Base.metadata, settings, audit=True)
    try:
        docs = {}
        for agency in (A, B):
            db = databases.for_agency(agency)
            ops.create_register(db, person("quantri", agency, Role.ADMIN), "incoming", numbering_year())
            docs[agency] = ops.register_paper_incoming(db, person("thuvt", agency, Role.CLERK),
                                                       paper(1, f"Văn bản của {agency}"), ["ab" * 32])["id"]
        for agency, other in ((A, B), (B, A), (A, B)):  # the pooled connection switches agency each time
            with databases.for_agency(agency).session() as s:
                # Deliberately no `Document.agency_id == ...` filter: the schema or the file is the filter.
                assert [d.id for d in s.scalars(select(Document))] == [docs[agency]]
                assert s.execute(text("SELECT count(*) FROM document")).scalar_one() == 1   # raw SQL too
                assert s.get(Document, docs[other]) is None
                assert s.execute(text("SELECT count(*) FROM audit_log WHERE agency = :o"), {"o": other}).scalar() == 0
        with pytest.raises(RuntimeError), databases.for_agency(B).session() as s:
            s.execute(text("SELECT 1"))
            raise RuntimeError("rolled back: the search_path set in this transaction is undone")
        for agency in (A, B):
            with databases.for_agency(agency).session() as s:
                assert s.execute(text("SELECT count(*) FROM document")).scalar_one() == 1
                assert s.scalar(select(Document.subject)) == f"Văn bản của {agency}"
        assert databases.known_agencies() == sorted([A, B])
        if databases.postgres:
            with sa.create_engine(settings.database_url).connect() as conn:
                schemas = set(conn.execute(text("SELECT schema_name FROM information_schema.schemata")).scalars())
            assert {schema_name("registry", A), schema_name("registry", B)} <= schemas
        else:
            assert all((Path(settings.data_dir) / agency_slug(a) / "registry.sqlite3").exists() for a in (A, B))
    finally:
        databases.dispose()


def test_sqlite_keeps_a_bounded_number_of_agencies_open(tmp_path):
    databases = Databases("registry", Base.metadata, CommonSettings(data_dir=tmp_path), max_open=2)
    try:
        agencies = [f"000.00.{n:02d}.H60" for n in range(1, 6)]
        for agency in agencies:
            ops.create_register(databases.for_agency(agency), person("quantri", agency, Role.ADMIN), "incoming",
                                numbering_year())
        assert databases.open_agencies() == agencies[-2:]
        # The first agency's file was closed and opens again with its data.
        first = ops.list_registers(databases.for_agency(agencies[0]), person("quantri", agencies[0], Role.ADMIN))
        assert len(first) == 1
        assert databases.known_agencies() == sorted(agencies)
    finally:
        databases.dispose()


def test_background_work_visits_only_the_agencies_that_wrote(settings):
    databases = Databases("registry", Base.metadata, settings)
    try:
        for agency in (A, B):
            ops.create_register(databases.for_agency(agency), person("quantri", agency, Role.ADMIN), "incoming",
                                numbering_year())
        work = databases.worklist("test")
        assert work.take() == sorted([A, B])   # the sweep at start
        assert work.take() == []                # nothing written since: nobody is visited
        ops.list_registers(databases.for_agency(A), person("quantri", A, Role.ADMIN))
        assert work.take() == []                # a read does not count
        ops.register_paper_incoming(databases.for_agency(B), person("thuvt", B, Role.CLERK), paper(2, "Mới"),
                                    ["cd" * 32])
        assert work.take() == [B]
        work.again(B)
        assert work.take() == [B]
        assert work.take() == []
    finally:
        databases.dispose()


def test_processes_opening_a_new_agency_at_the_same_moment_all_get_it(pg_url, tmp_path):
    """Each Databases stands for a process: they race on CREATE SCHEMA and CREATE TABLE of the same agency."""
    settings = CommonSettings(database_url=pg_url, data_dir=tmp_path)
    processes = [Databases("registry", Base.metadata, settings) for _ in range(4)]
    errors: list[Exception] = []
    start = threading.Barrier(len(processes))

    def first_use(databases: Databases) -> None:
        start.wait()
        try:
            with databases.for_agency(A).session() as s:
                s.scalars(select(Document)).all()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(d,)) for d in processes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert processes[0].known_agencies() == [A]
    finally:
        for databases in processes:
            databases.dispose()


SERVICES = ("services.storage.service:StorageService,services.registry.service:RegistryService,"
            "services.routing.service:RoutingService")


@pytest.fixture(params=["sqlite", "postgres"])
def installation(request, fresh_vhost, tmp_path):
    """One agency process on one vhost, started for no agency: it serves whichever agency its callers act for."""
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    env.pop("AGENCY_ID", None)
    if request.param == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("pg_url")
    else:
        env.pop("DATABASE_URL", None)
    with running_agency_process(SERVICES, fresh_vhost, tmp_path / "installation.log", env, agency="",
                                installation="tuyenquang") as port:
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).read())
        assert health["installation"] == "tuyenquang" and not health["agency"]
        client = ServiceClient(fresh_vhost, size=2)
        try:
            yield client, CommonSettings(data_dir=tmp_path, database_url=env.get("DATABASE_URL"))
        finally:
            client.close()


def test_two_agencies_of_one_process_cannot_reach_each_others_data(installation):
    client, settings = installation
    admin = {a: person("quantri", a, Role.ADMIN) for a in (A, B)}
    clerk = {a: person("thuvt", a, Role.CLERK) for a in (A, B)}
    drafter = {a: person("anhnv", a, Role.SPECIALIST) for a in (A, B)}

    def call(actor: Actor, service: str, method: str, *args, **kwargs):
        return client.call(service, method, actor, *args, **kwargs)

    pdf = {a: blob_store(settings, a).put_bytes(f"%PDF-1.4 dự thảo của {a}".encode()).sha256 for a in (A, B)}
    docs, files, drafts, tasks = {}, {}, {}, {}
    for agency in (A, B):
        call(admin[agency], "registry", "create_register", "incoming", numbering_year())
        docs[agency] = call(clerk[agency], "registry", "register_paper_incoming", paper(7, f"Công văn {agency}"),
                            [pdf[agency]])["id"]
        files[agency] = call(clerk[agency], "storage", "record_file", pdf[agency], "du-thao.pdf",
                             "application/pdf", blob_store(settings, agency).stat(pdf[agency]).size, "draft",
                             f"draft:{agency}")["id"]
        drafts[agency] = call(drafter[agency], "routing", "create_draft", f"Dự thảo {agency}", pdf[agency])["draft_id"]
        tasks[agency] = call(drafter[agency], "routing", "create_task", f"Việc của {agency}")["task_id"]

    # Each agency's numbers and ids are its own: the same ids name different records in each agency.
    assert files[A] == files[B] and drafts[A] == drafts[B] and tasks[A] == tasks[B]
    for agency, other in ((A, B), (B, A)):
        assert call(drafter[agency], "routing", "get_draft", drafts[agency])["title"] == f"Dự thảo {agency}"
        assert call(drafter[agency], "routing", "get_task", tasks[agency])["title"] == f"Việc của {agency}"
        listed = call(clerk[agency], "registry", "list_incoming")["items"]
        assert [d["id"] for d in listed] == [docs[agency]]
        with pytest.raises(NotFound):
            call(clerk[agency], "registry", "get_document", docs[other])
        with pytest.raises(NotFound):
            call(clerk[agency], "registry", "decide_change", docs[other], True)
        # The other agency's file bytes are not in this agency's store, so they cannot be recorded or drafted on.
        with pytest.raises(NotFound):
            call(clerk[agency], "storage", "record_file", pdf[other], "x.pdf", "application/pdf", 10, "draft", "x")
        with pytest.raises(NotFound):
            call(drafter[agency], "routing", "create_draft", "Dự thảo mượn tệp", pdf[other])

    # The registry's event reached routing in the document's own agency, through the same workers.
    for agency, other in ((A, B), (B, A)):
        procs.wait_until(lambda a=agency: _opened(call, clerk[a], docs[a]), 60, f"routing of {agency} to open")
        with pytest.raises(NotFound):
            call(clerk[agency], "routing", "get_incoming", docs[other])

    # A change attempted across agencies changed nothing.
    assert call(clerk[A], "registry", "get_document", docs[A])["state"] == "registered"
    assert call(clerk[A], "storage", "get_file", files[A])["display_name"] == "du-thao.pdf"


def _opened(call, actor: Actor, incoming_id: str) -> bool:
    try:
        return bool(call(actor, "routing", "get_incoming", incoming_id))
    except NotFound:
        return False
