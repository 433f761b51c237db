"""Idempotency-Key for the REST API's writes (draft-ietf-httpapi-idempotency-key-header): a client that did not
hear the answer sends the same request again with the same key and gets the first answer, and the action is done
once. The key names the caller's business operation (a mobile app makes one per tap of "Trình", a portal one per
application); the request's content is kept only as a fingerprint, to refuse a key reused for another request.

The gateway keeps the first answer in its own table, per agency and person: the services behind it do not know
the key (some, such as routing's oversight actions, have their own operation ids and are not wrapped here).
A failed action keeps nothing, so the same key may be tried again after a refusal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import Header, Response, UploadFile
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import clock
from services.common.errors import Conflict, ValidationFailed

KEY_HEADER = "Idempotency-Key"
KEY = Header(None, alias=KEY_HEADER, min_length=1, max_length=80, pattern=r"^[\x21-\x7e]+$",
             description="Khóa chống gửi lặp (tùy chọn, khuyến nghị): cùng khóa gửi lại trả đúng kết quả lần đầu "
                         "và thao tác chỉ được thực hiện một lần; dùng lại khóa cho yêu cầu khác bị từ chối (422).")
REPLAYED = "Idempotency-Replayed"
KEPT = timedelta(hours=24)


class IdempotencyBase(DeclarativeBase):
    metadata = MetaData()


class ApiIdempotency(IdempotencyBase):
    """The first answer to one (agency, person, key). Not in the audit chain: the action itself is audited by the
    service that did it; this is only the copy of its answer."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("agency_id", "user_id", "key", name="uq_api_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    done: Mapped[bool] = mapped_column(Boolean, default=False)       # False while the first request still runs
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the route's own status code
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    http_status = 422


class KeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    http_status = 409


def fingerprint(operation: str, payload: Any = None, files: list[UploadFile] | None = None) -> str:
    """The request as seen by the action: its operation (route and ids) and its content, files by their bytes."""
    digest = hashlib.sha256(operation.encode())
    digest.update(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode())
    for upload in files or []:
        upload.file.seek(0)
        while block := upload.file.read(256 * 1024):
            digest.update(block)
        upload.file.seek(0)
        digest.update(b"\0")
    return digest.hexdigest()


def service_key(v: Any, key: str | None) -> str | None:
    """The caller's key as a service keeps it (a registry's request key): the person's, short and fixed in length
    whatever the key's length. With it the service itself does the action once, even when the gateway's call is
    delivered to it twice."""
    return "api:" + hashlib.sha256(f"api:{v.user.id}:{key}".encode()).hexdigest() if key else None


def once(g: Any, v: Any, key: str | None, response: Response, operation: str, payload: Any,
         run: Callable[[], Any], files: list[UploadFile] | None = None) -> Any:
    """run() once per key; the same key again returns the first answer (with its status code). `operation` names
    the route and its ids, `payload` the request's content (a pydantic model or a dict)."""
    if not key:
        return run()
    if hasattr(payload, "model_dump"):
        payload = payload.model_dump(mode="json")
    print_ = fingerprint(operation, payload, files)
    db = g.db
    first = _first(db, v, key, print_)
    if first is not None:
        fingerprint_, done, status, body = first
        if fingerprint_ != print_:
            raise KeyReused("Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác; hãy tạo khóa mới.",
                            field=KEY_HEADER)
        if not done:
            raise KeyInProgress("Yêu cầu với khóa Idempotency-Key này đang được xử lý; hãy thử lại sau ít giây.",
                                field=KEY_HEADER)
        if status:
            response.status_code = status
        response.headers[REPLAYED] = "true"
        return body
    try:
        body = run()
    except BaseException:
        with db.session() as s:  # nothing done, nothing kept: the same key may be tried again
            s.execute(delete(ApiIdempotency).where(*_same(v, key)))
        raise
    with db.session() as s:
        row = s.scalars(select(ApiIdempotency).where(*_same(v, key))).one()
        row.done, row.status, row.body = True, response.status_code, json.loads(json.dumps(body, default=str))
    return body


def _first(db: Any, v: Any, key: str, print_: str) -> tuple[str, bool, int | None, Any] | None:
    """The earlier request with this key, or None after claiming the key for this one."""
    for _attempt in range(2):
        try:
            with db.session() as s:
                found = _find(s, v, key)
                if found is not None:
                    return found.fingerprint, found.done, found.status, found.body
                # A key is remembered for a day (the Idempotency-Key draft's usual window): the person's older
                # answers go as a new key comes, so the table holds at most a day of each person's writes.
                s.execute(delete(ApiIdempotency).where(
                    ApiIdempotency.agency_id == v.user.agency_id, ApiIdempotency.user_id == v.user.id,
                    ApiIdempotency.created_at < clock.now_utc() - KEPT))
                s.add(ApiIdempotency(agency_id=v.user.agency_id, user_id=v.user.id, key=key, fingerprint=print_,
                                     done=False, created_at=clock.now_utc()))
            return None
        except IntegrityError:
            continue  # another request with this key claimed it between the look and the insert: look again
    raise KeyInProgress("Yêu cầu với khóa Idempotency-Key này đang được xử lý; hãy thử lại sau ít giây.",
                        field=KEY_HEADER)


def _same(v: Any, key: str) -> tuple[Any, ...]:
    return (ApiIdempotency.agency_id == v.user.agency_id, ApiIdempotency.user_id == v.user.id,
            ApiIdempotency.key == key)


def _find(s: Any, v: Any, key: str) -> ApiIdempotency | None:
    return s.scalars(select(ApiIdempotency).where(*_same(v, key))).first()


def install(g: Any) -> None:
    IdempotencyBase.metadata.create_all(g.db.engine)
