"""Backup and restore drills: create data, back up, destroy, restore, compare every table's rows and every object's
hash. SQLite files + local-folder blobs, and PostgreSQL schemas + S3 buckets (moto)."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import threading
from pathlib import Path

import pytest
import typer
from minio import Minio
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from infra import backup
from infra.ops_cli import register
from services.common import audit, audit_verify
from services.common.actor import Actor
from services.common.db import Database
from services.common.errors import ValidationFailed
from services.common.settings import CommonSettings
from services.storage.blobs import LocalBlobStore
from services.storage.s3 import S3BlobStore
from services.storage.settings import StorageSettings
from tests.ops.conftest import letters, metadata

AGENCIES = ("000.00.00.H60", "000.00.09.H60")
SERVICES = ("registry", "routing")


def clerk(agency: str) -> Actor:
    return Actor(user_id="u-1", username="hunglv.vt", agency_id=agency, roles=frozenset({"clerk"}))


def populate(settings: CommonSettings, rows: int = 20, start: int = 1) -> None:
    for agency in AGENCIES:
        for service in SERVICES:
            db = Database(service, agency, metadata, settings)
            db.create_all()
            try:
                for i in range(start, start + rows):
                    with db.session() as s:
                        s.execute(letters.insert().values(id=i, subject=f"Văn bản {service} số {i}", state="new"))
                        audit.record(s, clerk(agency), "create", "letter", i, {"i": i})
            finally:
                db.dispose()


def put_blobs(settings: CommonSettings, count: int = 5, tag: str = "") -> set[str]:
    shas = set()
    for agency in AGENCIES:
        if settings.s3_endpoint:
            store = S3BlobStore(StorageSettings(**settings.model_dump()), agency)
        else:
            store = LocalBlobStore(Path(settings.data_dir) / agency.replace(".", "_").lower() / "blobs")
        for i in range(count):
            shas.add(store.put_bytes(f"{agency} tệp {tag}{i} ".encode() * (i + 1) * 100).sha256)
    return shas


def tables(settings: CommonSettings) -> dict[tuple[str, str], list[tuple]]:
    return {(where, name): rows for where, name, rows in backup.iter_tables(settings)}


def files(data_dir: Path) -> dict[str, str]:
    """Hash of every non-database file under DATA_DIR (blobs, PKI, ...)."""
    return {p.relative_to(data_dir).as_posix(): backup.sha256_file(p) for p in sorted(Path(data_dir).rglob("*"))
            if p.is_file() and ".sqlite3" not in p.name}


def objects(client: Minio, prefix: str) -> dict[str, str]:
    out = {}
    for b in client.list_buckets():
        if b.name.startswith(prefix):
            for o in client.list_objects(b.name, recursive=True):
                data = client.get_object(b.name, o.object_name)
                try:
                    out[f"{b.name}/{o.object_name}"] = hashlib.sha256(data.read()).hexdigest()
                finally:
                    data.close()
                    data.release_conn()
    return out


def test_sqlite_and_local_files_drill(tmp_path):
    settings = CommonSettings(data_dir=tmp_path / "data")
    populate(settings)
    put_blobs(settings)
    (tmp_path / "data" / "pki").mkdir()
    (tmp_path / "data" / "pki" / "root-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    before_tables, before_files = tables(settings), files(tmp_path / "data")
    assert len(before_tables) == 2 * 2 * 2 and len(before_files) == 13  # with each agency's AGENCY marker

    result = backup.backup(settings, tmp_path / "backups")
    manifest = backup.load_manifest(result.path)
    assert result.path.name.startswith("congvan-") and backup.check(result.path) == []
    assert len(manifest["audit_heads"]) == 4 and all(h[0] == 20 for h in manifest["audit_heads"].values())
    assert all(len(m["sha256"]) == 64 for m in manifest["files"].values())

    populate(settings, rows=3, start=100)          # changes after the backup must be undone
    put_blobs(settings, count=2, tag="sau ")
    shutil.rmtree(tmp_path / "data" / "000_00_09_h60")   # and a destroyed agency must come back

    restored = backup.restore(settings, result.path)
    assert restored.audit_problems == []
    assert tables(settings) == before_tables
    assert files(tmp_path / "data") == before_files
    assert restored.moved_aside is not None and restored.moved_aside.exists()   # nothing was thrown away
    for where, engine in audit_verify.discover(settings):
        assert audit_verify.verify(engine).ok, where


def test_postgresql_and_s3_drill(tmp_path, pg_url, s3_config):
    prefix = f"t-{secrets.token_hex(4)}-"
    settings = StorageSettings(data_dir=tmp_path / "data", database_url=pg_url, s3_endpoint=s3_config["endpoint"],
                               s3_access_key=s3_config["access_key"], s3_secret_key=s3_config["secret_key"],
                               s3_bucket_prefix=prefix)
    client = Minio(s3_config["endpoint"], access_key=s3_config["access_key"], secret_key=s3_config["secret_key"],
                   secure=False)
    try:
        populate(settings)
        put_blobs(settings)
        before_tables, before_objects = tables(settings), objects(client, prefix)
        assert len(before_tables) == 8 and len(before_objects) == 10

        result = backup.backup(settings, tmp_path / "backups")
        manifest = backup.load_manifest(result.path)
        assert manifest["database"] == "postgresql" and len(manifest["schemas"]) == 4
        assert len(manifest["buckets"]) == 2 and "databases/postgres.dump" in manifest["files"]

        # destroy: rows changed and added, a schema dropped, a new agency's schema, objects deleted and added
        populate(settings, rows=2, start=500)
        engine = create_engine(pg_url)
        with engine.begin() as conn:
            conn.execute(text('DROP SCHEMA "routing__000_00_09_h60" CASCADE'))
        engine.dispose()
        Database("registry", "000.00.00.H17", metadata, settings).create_all()
        bucket = manifest["buckets"][0]
        first = next(iter(client.list_objects(bucket, recursive=True))).object_name
        client.remove_object(bucket, first)
        put_blobs(settings, count=1, tag="sau ")
        assert tables(settings) != before_tables and objects(client, prefix) != before_objects

        restored = backup.restore(settings, result.path)
        assert restored.audit_problems == []
        assert tables(settings) == before_tables
        assert objects(client, prefix) == before_objects
    finally:
        for b in client.list_buckets():
            if b.name.startswith(prefix):
                for o in client.list_objects(b.name, recursive=True, include_version=True):
                    client.remove_object(b.name, o.object_name, version_id=o.version_id)
                client.remove_bucket(b.name)


def test_backup_while_writing_is_consistent(tmp_path):
    """Rows written during the backup: each copied database is a transaction-consistent snapshot."""
    settings = CommonSettings(data_dir=tmp_path / "data")
    populate(settings, rows=5)
    db = Database("registry", AGENCIES[0], metadata, settings)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 1000
        while not stop.is_set():
            with db.session() as s:
                s.execute(letters.insert().values(id=i, subject="đang ghi", state="new"))
                audit.record(s, clerk(AGENCIES[0]), "create", "letter", i)
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        result = backup.backup(settings, tmp_path / "backups")
    finally:
        stop.set()
        thread.join()
        db.dispose()
    copy = CommonSettings(data_dir=result.path / "databases")
    for where, engine in audit_verify.discover(copy):
        report = audit_verify.verify(engine)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM letters")).scalar_one()
        assert report.ok and report.rows == count, where   # every letter has its audit row, and only those


def test_damaged_backup_is_refused_and_data_left_alone(tmp_path):
    settings = CommonSettings(data_dir=tmp_path / "data")
    populate(settings, rows=3)
    put_blobs(settings, count=1)
    result = backup.backup(settings, tmp_path / "backups")
    blob = next(p for p in (result.path / "files").rglob("*") if p.is_file())
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    before = tables(settings)
    with pytest.raises(ValidationFailed, match="Bản sao lưu bị hỏng") as info:
        backup.restore(settings, result.path)
    assert any("bị thay đổi" in p for p in info.value.details["problems"])
    assert tables(settings) == before and not list(tmp_path.glob("data.before-restore-*"))


def test_rotation_keeps_the_newest_complete_backups(tmp_path):
    settings = CommonSettings(data_dir=tmp_path / "data")
    populate(settings, rows=1)
    dest = tmp_path / "backups"
    (dest / "congvan-00000000T000000000000Z.partial").mkdir(parents=True)   # a crashed run is never counted
    made = [backup.backup(settings, dest).path for _ in range(3)]
    last = backup.backup(settings, dest, keep=2)
    assert backup.backups(dest) == [made[2], last.path]
    assert set(last.removed) == {made[0], made[1]}
    assert (dest / "congvan-00000000T000000000000Z.partial").exists()


def test_cli_backup_restore_and_audit_verify(tmp_path, monkeypatch):
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    data = tmp_path / "data"
    settings = CommonSettings(data_dir=data)
    populate(settings, rows=4)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("S3_ENDPOINT", raising=False)

    out = runner.invoke(app, ["backup", "--data-dir", str(data), "--to", str(tmp_path / "b"), "--keep", "3"])
    assert out.exit_code == 0, out.output
    assert "Đã sao lưu" in out.output
    made = backup.backups(tmp_path / "b")[0]

    out = runner.invoke(app, ["audit", "verify", "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    assert "4 nhật ký kiểm toán, 0 có vấn đề." in out.output

    # tamper with one chain (dropping the guard first), then verify fails and names the row
    victim = data / "000_00_09_h60" / "routing.sqlite3"
    engine = create_engine(f"sqlite:///{victim}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'ai-do' WHERE seq = 2")
    engine.dispose()
    out = runner.invoke(app, ["audit", "verify", "--data-dir", str(data)])
    assert out.exit_code == 1
    assert "[changed] Bản ghi số 2 đã bị sửa" in out.output and "1 có vấn đề" in out.output

    out = runner.invoke(app, ["restore", str(made), "--yes", "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--against", str(made)])
    assert out.exit_code == 0, out.output
