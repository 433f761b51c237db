"""The nameko `storage` service, run as a real agency process (PostgreSQL, RabbitMQ vhost, local blob folder)
and called over RPC the way the gateway and the other services call it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.actor import Actor, Role
from services.common.clock import now_utc, vn_date
from services.common.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from services.common.rpc_client import ServiceClient
from services.storage.blobs import LocalBlobStore

AGENCY = "000.00.00.H60"
CLERK = Actor("u-clerk", "hoalt.vp", AGENCY, frozenset({Role.CLERK}), "Lê Thị Hoa")
SPECIALIST = Actor("u-spec", "namnv.stc", AGENCY, frozenset({Role.SPECIALIST}), "Nguyễn Văn Nam")
ADMIN = Actor("u-admin", "admin.vp", AGENCY, frozenset({Role.ADMIN}), "Quản trị")
STRANGER = Actor("u-x", "x.dn", "000.00.00.H17", frozenset({Role.ADMIN}), "Người ngoài")


class Running:
    def __init__(self, client: ServiceClient, store: LocalBlobStore) -> None:
        self.client = client
        self.store = store

    def call(self, method: str, actor: Actor | None, *args, **kwargs):
        return self.client.call("storage", method, actor, *args, **kwargs)

    def put(self, data: bytes, name: str = "Công văn số 12.pdf", kind: str = "attachment", owner: str = "document:1",
            actor: Actor = CLERK, **kwargs) -> dict:
        info = self.store.put_bytes(data)
        return self.call("record_file", actor, info.sha256, name, "application/pdf", info.size, kind, owner,
                         **kwargs)


@pytest.fixture(scope="module")
def storage(rabbit_admin, stack_env, pg_admin_url, tmp_path_factory) -> Iterator[Running]:
    """One storage process for the module, on its own vhost and database (removed afterwards)."""
    vhost, dbname = f"t-{secrets.token_hex(4)}", f"t_{secrets.token_hex(6)}"
    rabbit_admin.add_vhost(vhost)
    rabbit_admin.set_permissions(vhost, stack_env["RABBIT_ADMIN_USER"])
    admin_db = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin_db.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    amqp = (f"amqp://{stack_env['RABBIT_ADMIN_USER']}:{stack_env['RABBIT_ADMIN_PASSWORD']}@127.0.0.1:"
            f"{stack_env['RABBIT_PORT']}/{vhost}")
    data_dir = tmp_path_factory.mktemp("storage-service")
    env = {k: v for k, v in os.environ.items() if k not in {"S3_ENDPOINT", "DATABASE_URL"}}
    env.update(AGENCY_ID=AGENCY, AMQP_URI=amqp, DATA_DIR=str(data_dir), METRICS_PORT="0",
               DATABASE_URL=f"{pg_admin_url.rsplit('/', 1)[0]}/{dbname}")
    log = open(data_dir / "process.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "services.common.agency_process", "--services",
                             "services.storage.service:StorageService"], env=env, stdout=log, stderr=subprocess.STDOUT)
    client = ServiceClient(amqp, size=2, timeout=20)
    try:
        _wait_ready(client, proc, data_dir / "process.log")
        yield Running(client, LocalBlobStore(Path(data_dir) / "000_00_00_h60" / "blobs"))
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        rabbit_admin.delete_vhost(vhost)
        with admin_db.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin_db.dispose()


def _wait_ready(client: ServiceClient, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"storage process exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            client.call("storage", "health", CLERK)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_health_checks_database_and_store(storage):
    assert storage.call("health", CLERK) == {"database": True, "store": True}


def test_record_file_keeps_names_and_is_idempotent(storage):
    first = storage.put(b"%PDF-1.4 idempotent", "Công văn số 12 – Sở Nội vụ.pdf", owner="document:idem")
    again = storage.put(b"%PDF-1.4 idempotent", "Công văn số 12 – Sở Nội vụ.pdf", owner="document:idem")
    assert again["id"] == first["id"]
    assert first["display_name"] == "Công văn số 12 – Sở Nội vụ.pdf"
    assert first["stored_name"] == "CongVanSo12SoNoiVu.pdf"
    assert first["uploaded_by"] == CLERK.user_id and first["version"] == 1
    assert [f["id"] for f in storage.call("list_files", CLERK, "document:idem")] == [first["id"]]
    assert storage.call("get_file", CLERK, first["id"])["sha256"] == first["sha256"]


def test_new_versions_append_and_keep_the_old_bytes(storage):
    v1 = storage.put(b"%PDF-1.4 draft", "Quyết định.pdf", kind="signed_original", owner="document:ver")
    v2 = storage.put(b"%PDF-1.4 draft + signature", "Quyết định.pdf", kind="signed_original",
                     owner="document:ver", replaces=v1["id"])
    assert v2["id"] == v1["id"] and v2["version"] == 2
    assert [v["version"] for v in v2["versions"]] == [1, 2]
    assert storage.store.read(v2["versions"][0]["sha256"]) == b"%PDF-1.4 draft"
    again = storage.put(b"%PDF-1.4 draft + signature", "Quyết định.pdf", kind="signed_original",
                        owner="document:ver", replaces=v1["id"])
    assert again["version"] == 2  # the same new version delivered twice is one version


def test_recording_bytes_that_are_not_stored_is_refused(storage):
    with pytest.raises(NotFound):
        storage.call("record_file", CLERK, "a" * 64, "x.pdf", "application/pdf", 10, "attachment", "document:1")
    info = storage.store.put_bytes(b"%PDF-1.4 size")
    with pytest.raises(ValidationFailed):
        storage.call("record_file", CLERK, info.sha256, "x.pdf", "application/pdf", 999, "attachment", "document:1")


def test_deletion_is_refused_under_retention_with_the_reason(storage):
    f = storage.put(b"%PDF-1.4 retained original", "Bản gốc.pdf", kind="signed_original", owner="document:ret")
    with pytest.raises(Conflict) as err:
        storage.call("delete_file", CLERK, f["id"])
    assert "chưa được xác định thời hạn bảo quản" in err.value.message_vi
    until = vn_date(now_utc()) + timedelta(days=30)
    [retained] = storage.call("set_retention", CLERK, file_id=f["id"], until=until.isoformat())
    assert retained["retention_until"] == until.isoformat()
    with pytest.raises(Conflict) as err:
        storage.call("delete_file", ADMIN, f["id"])
    assert f"đến {until:%d/%m/%Y}" in err.value.message_vi
    with pytest.raises(Conflict) as err:
        storage.call("set_retention", CLERK, sha256=f["sha256"], until=(until - timedelta(days=1)).isoformat())
    assert "rút ngắn" in err.value.message_vi
    storage.call("set_retention", CLERK, sha256=f["sha256"], until="permanent")
    assert storage.call("get_file", CLERK, f["id"])["retention_until"] == "permanent"
    assert storage.store.exists(f["sha256"])


def test_deleting_a_plain_attachment_removes_unshared_bytes(storage):
    shared = b"%PDF-1.4 shared by two documents"
    a = storage.put(shared, owner="document:a")
    b = storage.put(shared, owner="document:b")
    own = storage.put(b"%PDF-1.4 only mine", owner="document:a", actor=SPECIALIST)
    assert storage.call("delete_file", CLERK, a["id"])["removed_blobs"] == []  # b still names the bytes
    assert storage.store.exists(b["sha256"])
    with pytest.raises(Forbidden):  # not the uploader, not a clerk
        storage.call("delete_file", SPECIALIST, b["id"])
    deleted = storage.call("delete_file", SPECIALIST, own["id"])
    assert deleted["deleted"] and deleted["removed_blobs"] == [own["sha256"]]
    assert not storage.store.exists(own["sha256"])


def test_calls_without_actor_are_refused_and_another_agency_reaches_only_its_own_files(storage):
    with pytest.raises(Unauthenticated):
        storage.call("stats", None)
    # The process serves every agency its callers act for; another agency's actor works on its own records and
    # store, where this agency's file does not exist (docs/architecture.md "Inside an installation").
    mine = storage.put(b"%PDF-1.4 only for UBND tinh Tuyen Quang", owner="document:tenancy")
    assert storage.call("list_files", STRANGER, "document:tenancy") == []
    with pytest.raises(NotFound):
        storage.call("get_file", STRANGER, mine["id"])
    with pytest.raises(NotFound):
        storage.call("delete_file", STRANGER, mine["id"])
    with pytest.raises(NotFound):  # the bytes are in this agency's store, not in the stranger's
        storage.call("record_file", STRANGER, mine["sha256"], "x.pdf", "application/pdf", mine["size"], "attachment",
                     "document:stolen")
    assert storage.call("get_file", CLERK, mine["id"])["deleted"] is False
    with pytest.raises(Forbidden):
        storage.call("scrub", CLERK)


def test_scrub_through_the_service_finds_a_changed_byte(storage):
    f = storage.put(b"%PDF-1.4 will be damaged on disk", owner="document:scrub")
    path = storage.store.path(f["sha256"])
    path.chmod(0o644)
    path.write_bytes(b"%PDF-1.4 will be damaged on disk!")
    report = storage.call("scrub", ADMIN)
    assert not report["ok"]
    assert [c["sha256"] for c in report["corrupt"]] == [f["sha256"]]
    stats = storage.call("stats", CLERK)
    assert stats["files"] >= 1 and stats["bytes"] > 0 and "attachment" in stats["by_kind"]
