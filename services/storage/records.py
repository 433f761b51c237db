"""File records in the storage service's own tables: the queries behind the service's entrypoints and the CLI."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.clock import vn_date
from services.common.db import Database
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.storage import domain
from services.storage.blobs import BlobStore
from services.storage.models import FileVersion, StoredFile


def file_dict(f: StoredFile) -> dict:
    current = f.versions[-1] if f.versions else None
    return {
        "id": f.id, "owner_ref": f.owner_ref, "display_name": f.display_name, "stored_name": f.stored_name,
        "kind": f.kind, "version": f.current_version,
        "sha256": current.sha256 if current else None, "size": current.size if current else None,
        "content_type": current.content_type if current else None,
        "uploaded_by": current.uploaded_by if current else None,
        "uploaded_at": current.uploaded_at.isoformat() if current else None,
        "retention_until": _retention_out(f.retention_until), "legal_hold": f.legal_hold,
        "created_by": f.created_by, "created_at": f.created_at.isoformat(),
        "deleted": f.deleted_at is not None,
        "versions": [{"version": v.version, "sha256": v.sha256, "size": v.size, "content_type": v.content_type,
                      "uploaded_by": v.uploaded_by, "uploaded_at": v.uploaded_at.isoformat()} for v in f.versions],
    }


def _retention_out(until: date | None) -> str | None:
    if until is None:
        return None
    return "permanent" if until >= domain.PERMANENT else until.isoformat()


def get(session: Session, file_id: int) -> StoredFile:
    f = session.get(StoredFile, int(file_id))
    if f is None:
        raise NotFound("Không tìm thấy tệp.", file_id=file_id)
    return f


def _check_blob(store: BlobStore, sha256: str, size: int) -> None:
    """A record may only name bytes that are stored, with the size claimed."""
    stored = store.stat(sha256).size  # NotFound if absent
    if stored != int(size):
        raise ValidationFailed("Kích thước tệp không khớp với nội dung đã lưu.", code="size_mismatch",
                               sha256=sha256, claimed=size, stored=stored)


def record(session: Session, store: BlobStore, *, sha256: str, display_name: str, content_type: str, size: int,
           kind: str, owner_ref: str, user_id: str, replaces: int | None = None) -> StoredFile:
    """A new file (or a new version of `replaces`); recording the same content again returns the same file."""
    domain.check_kind(kind)
    display = domain.clean_display_name(display_name)
    if not owner_ref:
        raise ValidationFailed("Thiếu đối tượng sở hữu tệp (owner_ref).", code="bad_owner")
    _check_blob(store, sha256, size)
    if replaces is not None:
        return _add_version(session, get(session, replaces), sha256, content_type, size, user_id)
    existing = session.scalar(select(StoredFile).where(StoredFile.owner_ref == owner_ref,
                                                       StoredFile.origin_sha256 == sha256))
    if existing is not None:
        if existing.deleted_at is not None:  # recorded again after a deletion: it is back
            existing.deleted_at = existing.deleted_by = None
        return existing
    f = StoredFile(owner_ref=owner_ref, display_name=display, stored_name=domain.stored_name(display), kind=kind,
                   origin_sha256=sha256, current_version=1, legal_hold=False, created_by=user_id,
                   created_at=clock.now_utc())
    f.versions.append(FileVersion(version=1, sha256=sha256, size=int(size), content_type=content_type,
                                  uploaded_by=user_id, uploaded_at=clock.now_utc()))
    session.add(f)
    session.flush()  # the same call delivered twice at once fails here (uq_files_owner_origin): see record_file
    return f


def record_file(db: Database, store: BlobStore, **fields: Any) -> dict:
    """record() in a transaction of its own, as file_dict. The same call delivered twice at once: the later INSERT
    waits for the earlier's commit, then fails on the unique key; its transaction is run once more and finds the
    file the other one recorded. (A savepoint around the INSERT did that in place, for two statements on every
    new file.)"""
    def run() -> dict:
        with db.session() as session:
            return file_dict(record(session, store, **fields))

    try:
        return run()
    except IntegrityError:
        pass  # the other delivery has committed: run again, outside the handler, so a second failure stands alone
    return run()


def _add_version(session: Session, f: StoredFile, sha256: str, content_type: str, size: int,
                 user_id: str) -> StoredFile:
    if f.deleted_at is not None:
        raise Conflict("Tệp đã bị xóa, không thêm phiên bản mới được.", code="deleted", file_id=f.id)
    if any(v.sha256 == sha256 for v in f.versions):
        return f  # idempotent
    f.current_version += 1
    f.versions.append(FileVersion(version=f.current_version, sha256=sha256, size=int(size),
                                  content_type=content_type, uploaded_by=user_id, uploaded_at=clock.now_utc()))
    session.flush()
    return f


def files_for(session: Session, *, file_id: int | None, sha256: str | None) -> list[StoredFile]:
    if file_id is not None:
        return [get(session, file_id)]
    if sha256:
        files = list(session.scalars(select(StoredFile).join(FileVersion).where(FileVersion.sha256 == sha256)
                                     .distinct()))
        if not files:
            raise NotFound("Không tìm thấy tệp.", sha256=sha256)
        return files
    raise ValidationFailed("Cần mã tệp hoặc mã băm.", code="bad_request")


def set_retention(session: Session, store: BlobStore, files: list[StoredFile], until: date) -> None:
    today = vn_date(clock.now_utc())
    for f in files:
        f.retention_until = domain.extend_retention(f.retention_until, until, today)
        for v in f.versions:
            store.lock(v.sha256, f.retention_until)


def delete(session: Session, store: BlobStore, f: StoredFile, user_id: str) -> list[str]:
    """Mark a file deleted and remove the blobs no other live file names. Refused under retention or hold."""
    if f.deleted_at is not None:
        return []
    reason = domain.deletion_refusal(f.kind, f.retention_until, f.legal_hold, vn_date(clock.now_utc()))
    if reason:
        raise Conflict(reason, code="retained", file_id=f.id, kind=f.kind,
                       retention_until=_retention_out(f.retention_until), legal_hold=f.legal_hold)
    f.deleted_at = clock.now_utc()
    f.deleted_by = user_id
    session.flush()
    removed = []
    for v in f.versions:
        if not live_shas(session, only=v.sha256):
            store.delete(v.sha256)  # may refuse (S3 object lock): the caller's transaction rolls back
            removed.append(v.sha256)
    return removed


def withdraw_blobs(session: Session, store: BlobStore, shas: list[str]) -> list[str]:
    """The registry's `content_withdrawn` (an agreed recall): delete the blobs of those hashes that no live file
    record names; returns the ones deleted now. At-least-once: a blob already gone is simply not listed."""
    removed = []
    for sha in shas:
        if not live_shas(session, only=sha) and store.delete(sha):
            removed.append(sha)
    return removed


def live_shas(session: Session, only: str | None = None) -> set[str]:
    q = select(distinct(FileVersion.sha256)).join(StoredFile).where(StoredFile.deleted_at.is_(None))
    if only:
        q = q.where(FileVersion.sha256 == only)
    return set(session.scalars(q))


def blob_totals(session: Session) -> tuple[int, int]:
    """(objects, bytes) of the distinct blobs named by live records, in one aggregate query (the storage gauges
    refresh with it every minute, so it stays one query)."""
    blobs = (select(FileVersion.sha256, func.max(FileVersion.size).label("size")).join(StoredFile)
             .where(StoredFile.deleted_at.is_(None)).group_by(FileVersion.sha256).subquery())
    objects, total = session.execute(select(func.count(), func.coalesce(func.sum(blobs.c.size), 0))
                                     .select_from(blobs)).one()
    return int(objects or 0), int(total or 0)


def stats(session: Session) -> dict:
    live = StoredFile.deleted_at.is_(None)
    files = session.scalar(select(func.count()).select_from(StoredFile).where(live)) or 0
    versions = session.scalar(select(func.count()).select_from(FileVersion).join(StoredFile).where(live)) or 0
    objects, total = blob_totals(session)
    by_kind = dict(session.execute(select(StoredFile.kind, func.count()).where(live).group_by(StoredFile.kind))
                   .tuples().all())
    retained = session.scalar(select(func.count()).select_from(StoredFile).where(
        live, StoredFile.retention_until >= vn_date(clock.now_utc()))) or 0
    return {"files": files, "versions": versions, "objects": objects, "bytes": int(total), "by_kind": by_kind,
            "retained": retained}
