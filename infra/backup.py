"""Backup and restore of a deployment (Tuyên Quang Đ16: daily and on demand, restore to the exact state).

A backup is one directory `<dest>/congvan-<UTC time>/`:

    databases/<agency>/<service>.sqlite3   every SQLite file under DATA_DIR, copied with SQLite's online backup
                                           API (a consistent snapshot while services keep writing)
    databases/postgres.dump                or, when DATABASE_URL is PostgreSQL: pg_dump (custom format) of every
                                           Công Văn schema, one snapshot for all of them
    files/<path under DATA_DIR>            every other file under DATA_DIR (local-folder blobs, the PKI, fonts)
    objects/<bucket>/<key>                 with S3: every current object of every bucket of the deployment
    manifest.json                          SHA-256 and size of every file above, audit chain heads, settings used

Databases are copied BEFORE files and objects. Blobs are content-addressed and written before any row refers to
them, so every blob a backed-up row names is in the backup (a blob written later is merely extra).

The directory is written as `<name>.partial` and renamed when complete, so a crashed backup never looks like a
good one, and `--keep N` rotation only ever counts complete backups.

`restore(settings, dir)` checks every hash in the manifest first and refuses a damaged backup. Then it moves the
current DATA_DIR aside (`<DATA_DIR>.before-restore-<time>`: nothing is ever deleted by a restore), puts the
backed-up files in place, recreates the PostgreSQL schemas from the dump and makes each S3 bucket hold exactly
the backed-up objects. Services must be stopped while restoring (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from services.common import audit_verify
from services.common.db import is_postgres
from services.common.errors import ValidationFailed
from services.common.settings import CommonSettings

FORMAT = 1
PREFIX = "congvan-"
MANIFEST = "manifest.json"
SQLITE_SUFFIX = ".sqlite3"
# SQLite's side files: never copied (the backup API folds the WAL in), removed before a restored file is used.
SQLITE_SIDE = ("-wal", "-shm", "-journal")
# Schemas made by services/common/db.py: `<service>__<agency slug>`.
SCHEMA_PATTERN = r"^[a-z][a-z0-9_]*__[a-z0-9_]+$"
CHUNK = 1024 * 1024


@dataclass
class BackupResult:
    path: Path
    files: int
    bytes: int
    removed: list[Path] = field(default_factory=list)   # old backups deleted by rotation


@dataclass
class RestoreResult:
    files: int
    objects: int
    schemas: list[str]
    moved_aside: Path | None
    audit_problems: list[str]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _is_sqlite_side(path: Path) -> bool:
    return any(path.name.endswith(SQLITE_SUFFIX + s) for s in SQLITE_SIDE)


# ------------------------------------------------------------------------------------------------ backup
def backup(settings: CommonSettings, dest: Path, keep: int | None = None) -> BackupResult:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    name = PREFIX + _stamp()
    work = dest / f"{name}.partial"
    work.mkdir(mode=0o700)
    data_dir = Path(settings.data_dir)
    manifest: dict[str, Any] = {
        "format": FORMAT, "created_at": datetime.now(UTC).isoformat(), "data_dir": str(data_dir),
        "database": "postgresql" if is_postgres(settings.database_url) else "sqlite",
        "object_store": "s3" if settings.s3_endpoint else "local", "schemas": [], "buckets": [],
        "audit_heads": {}, "files": {},
    }
    try:
        if is_postgres(settings.database_url):
            manifest["schemas"] = _dump_postgres(settings, work / "databases" / "postgres.dump")
        else:
            _backup_sqlite(data_dir, work / "databases")
        manifest["audit_heads"] = _audit_heads(settings, work)
        _copy_files(data_dir, work / "files")
        if settings.s3_endpoint:
            manifest["buckets"] = _download_buckets(settings, work / "objects")
        total = 0
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            size = path.stat().st_size
            manifest["files"][path.relative_to(work).as_posix()] = {"sha256": sha256_file(path), "size": size}
            total += size
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        final = dest / name
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    removed = rotate(dest, keep) if keep else []
    return BackupResult(final, len(manifest["files"]), total, removed)


def _backup_sqlite(data_dir: Path, out: Path) -> None:
    for src in sorted(data_dir.rglob("*" + SQLITE_SUFFIX)):
        target = out / src.relative_to(data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The online backup API copies a consistent snapshot page by page while other connections write.
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        finally:
            copy.close()
            source.close()


def _copy_files(data_dir: Path, out: Path) -> None:
    if not data_dir.exists():
        return
    for src in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        if src.name.endswith(SQLITE_SUFFIX) or _is_sqlite_side(src) or src.name.startswith(".incoming-"):
            continue  # databases are copied through the backup API; .incoming-* are uploads in progress
        target = out / src.relative_to(data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def _audit_heads(settings: CommonSettings, work: Path) -> dict[str, list]:
    """Heads of every audit chain, as backed up: a later `congvan audit verify` compares against them."""
    heads = {}
    if is_postgres(settings.database_url):
        for where, engine in audit_verify.discover(settings):
            heads[where] = list(audit_verify.head(engine))
    else:
        copy = CommonSettings(data_dir=work / "databases")
        for where, engine in audit_verify.discover(copy):
            heads[Path(where).relative_to(work / "databases").as_posix()] = list(audit_verify.head(engine))
    return heads


# -- PostgreSQL --------------------------------------------------------------------------------------------
def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (it goes in PGPASSWORD, not on a command line anyone can read)."""
    u = make_url(url)
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = u.password
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _schemas(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname ~ :p ORDER BY 1"), {"p": SCHEMA_PATTERN}).scalars())
    finally:
        engine.dispose()


def _dump_postgres(settings: CommonSettings, out: Path) -> list[str]:
    assert settings.database_url
    schemas = _schemas(settings.database_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    dsn, env = _libpq(settings.database_url)
    args = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out}", "--dbname", dsn]
    for schema in schemas:
        args += ["--schema", schema]
    if not schemas:
        args += ["--schema-only", "--schema", "public"]  # an empty deployment still gives a restorable dump
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {done.stderr.strip()}")
    return schemas


def _restore_postgres(settings: CommonSettings, dump: Path, schemas: list[str]) -> None:
    assert settings.database_url
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            # Exact state: schemas made after the backup go too (every schema follows db.schema_name's pattern).
            for schema in sorted(set(schemas) | set(_schemas(settings.database_url))):
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
    if not schemas:
        return
    dsn, env = _libpq(settings.database_url)
    done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                           "--dbname", dsn, str(dump)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pg_restore failed: {done.stderr.strip()}")


# -- S3 ----------------------------------------------------------------------------------------------------
def _s3(settings: CommonSettings):
    from minio import Minio

    from services.storage.settings import storage_settings

    s = storage_settings(settings)
    client = Minio(s.s3_endpoint, access_key=s.s3_access_key, secret_key=s.s3_secret_key, secure=s.s3_secure,
                   region=s.s3_region)
    return client, s.s3_bucket_prefix


def _our_buckets(client, prefix: str) -> list[str]:
    from services.storage.s3 import bucket_name

    start = bucket_name(prefix, "x")[:-1]  # the prefix as bucket_name normalises it
    return sorted(b.name for b in client.list_buckets() if b.name.startswith(start))


def _download_buckets(settings: CommonSettings, out: Path) -> list[str]:
    client, prefix = _s3(settings)
    buckets = _our_buckets(client, prefix)
    for bucket in buckets:
        (out / bucket).mkdir(parents=True, exist_ok=True)
        for obj in client.list_objects(bucket, recursive=True):
            target = out / bucket / obj.object_name
            target.parent.mkdir(parents=True, exist_ok=True)
            client.fget_object(bucket, obj.object_name, str(target))
    return buckets


def _upload_buckets(settings: CommonSettings, src: Path, buckets: list[str]) -> int:
    from minio.error import S3Error

    client, _prefix = _s3(settings)
    count = 0
    for bucket in buckets:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        wanted = {p.relative_to(src / bucket).as_posix(): p for p in (src / bucket).rglob("*") if p.is_file()}
        present = {o.object_name: o for o in client.list_objects(bucket, recursive=True)}
        for key, path in sorted(wanted.items()):
            if key in present and _object_sha256(client, bucket, key) == sha256_file(path):
                continue
            client.fput_object(bucket, key, str(path))
            count += 1
        for key in sorted(set(present) - set(wanted)):
            try:
                client.remove_object(bucket, key)  # versioned buckets keep it as a non-current version
            except S3Error as exc:
                raise RuntimeError(f"cannot remove {bucket}/{key} made after the backup: {exc.code}") from exc
    return count


def _object_sha256(client, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    response = client.get_object(bucket, key)
    try:
        for chunk in response.stream(CHUNK):
            digest.update(chunk)
    finally:
        response.close()
        response.release_conn()
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------ restore
def load_manifest(backup_dir: Path) -> dict[str, Any]:
    path = Path(backup_dir) / MANIFEST
    if not path.exists():
        raise ValidationFailed("Thư mục không phải là một bản sao lưu hoàn chỉnh (thiếu manifest.json).",
                               code="backup_incomplete", path=str(backup_dir))
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValidationFailed("Bản sao lưu có định dạng không được hỗ trợ.", code="backup_format",
                               format=manifest.get("format"))
    return manifest


def check(backup_dir: Path) -> list[str]:
    """Every file of the manifest present with its size and hash, and nothing unlisted: the problems found."""
    backup_dir = Path(backup_dir)
    manifest = load_manifest(backup_dir)
    problems = []
    for rel, meta in manifest["files"].items():
        path = backup_dir / rel
        if not path.is_file():
            problems.append(f"thiếu tệp {rel}")
        elif path.stat().st_size != meta["size"] or sha256_file(path) != meta["sha256"]:
            problems.append(f"tệp {rel} bị thay đổi (mã băm không khớp)")
    listed = set(manifest["files"]) | {MANIFEST}
    problems += [f"tệp lạ {p.relative_to(backup_dir).as_posix()}" for p in backup_dir.rglob("*")
                 if p.is_file() and p.relative_to(backup_dir).as_posix() not in listed]
    return problems


def restore(settings: CommonSettings, backup_dir: Path) -> RestoreResult:
    backup_dir = Path(backup_dir)
    manifest = load_manifest(backup_dir)
    problems = check(backup_dir)
    if problems:
        raise ValidationFailed("Bản sao lưu bị hỏng, không khôi phục: " + "; ".join(problems[:5]),
                               code="backup_damaged", problems=problems)
    wants_pg = manifest["database"] == "postgresql"
    if wants_pg != is_postgres(settings.database_url):
        raise ValidationFailed("Bản sao lưu và cấu hình hiện tại dùng hai loại cơ sở dữ liệu khác nhau.",
                               code="backup_mismatch", backup=manifest["database"],
                               settings="postgresql" if is_postgres(settings.database_url) else "sqlite")
    if manifest["object_store"] == "s3" and not settings.s3_endpoint:
        raise ValidationFailed("Bản sao lưu có dữ liệu S3 nhưng S3_ENDPOINT chưa được đặt.", code="backup_mismatch")

    data_dir = Path(settings.data_dir)
    aside = None
    if data_dir.exists() and any(data_dir.iterdir()):
        aside = data_dir.with_name(f"{data_dir.name}.before-restore-{_stamp()}")
        data_dir.rename(aside)
    data_dir.mkdir(parents=True, exist_ok=True)
    restored = 0
    for rel in manifest["files"]:
        parts = Path(rel).parts
        if parts[0] == "files" or (parts[0] == "databases" and rel.endswith(SQLITE_SUFFIX)):
            target = data_dir.joinpath(*parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            _install(backup_dir / rel, target)
            restored += 1
    if wants_pg:
        _restore_postgres(settings, backup_dir / "databases" / "postgres.dump", manifest["schemas"])
    objects = 0
    if manifest["object_store"] == "s3":
        objects = _upload_buckets(settings, backup_dir / "objects", manifest["buckets"])
    return RestoreResult(restored, objects, manifest["schemas"], aside, _check_audit(settings, manifest))


def _install(src: Path, target: Path) -> None:
    """Copy beside the target, then rename over it: a reader sees the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".restoring-")
    os.close(fd)
    shutil.copy2(src, tmp)
    os.replace(tmp, target)


def audit_key(settings: CommonSettings, where: str) -> str:
    """How a manifest names an audit chain: the schema, or the SQLite file relative to DATA_DIR."""
    return where if is_postgres(settings.database_url) else Path(where).relative_to(Path(settings.data_dir)).as_posix()


def _check_audit(settings: CommonSettings, manifest: dict[str, Any]) -> list[str]:
    """Every restored audit chain must verify and end exactly at the head recorded when the backup was taken."""
    problems = []
    for where, engine in audit_verify.discover(settings):
        key = audit_key(settings, where)
        expected = manifest["audit_heads"].get(key)
        report = audit_verify.verify(engine, expected_head=tuple(expected) if expected else None, where=key)
        if expected and report.head != tuple(expected):
            problems.append(f"{key}: chuỗi kiểm toán kết thúc ở bản ghi {report.head[0]}, "
                            f"bản sao lưu ghi nhận {expected[0]}")
        problems += [f"{key}: {p.message_vi}" for p in report.problems]
    return problems


# ------------------------------------------------------------------------------------------------ rotation
def backups(dest: Path) -> list[Path]:
    """Complete backups in `dest`, oldest first (names sort by time)."""
    dest = Path(dest)
    if not dest.exists():
        return []
    return sorted(p for p in dest.iterdir()
                  if p.is_dir() and p.name.startswith(PREFIX) and not p.name.endswith(".partial")
                  and (p / MANIFEST).exists())


def rotate(dest: Path, keep: int) -> list[Path]:
    if keep < 1:
        raise ValidationFailed("Phải giữ lại ít nhất một bản sao lưu.", code="bad_keep", keep=keep)
    old = backups(dest)[:-keep]
    for path in old:
        shutil.rmtree(path)
    return old


def iter_tables(settings: CommonSettings) -> Iterator[tuple[str, str, list[tuple]]]:
    """(database, table, sorted rows) of every table of the deployment: what a restore drill compares."""
    from sqlalchemy import MetaData

    if is_postgres(settings.database_url):
        targets = [(s, create_engine(settings.database_url, connect_args={"options": f"-csearch_path={s}"}))
                   for s in _schemas(settings.database_url)]
    else:
        data_dir = Path(settings.data_dir)
        targets = [(p.relative_to(data_dir).as_posix(), create_engine(f"sqlite:///file:{p}?mode=ro&uri=true"))
                   for p in sorted(data_dir.rglob("*" + SQLITE_SUFFIX))]
    for where, engine in targets:
        try:
            meta = MetaData()
            meta.reflect(engine)
            with engine.connect() as conn:
                for name, table in sorted(meta.tables.items()):
                    rows = sorted((tuple(r) for r in conn.execute(table.select())), key=repr)
                    yield where, name, rows
        finally:
            engine.dispose()
