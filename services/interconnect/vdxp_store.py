"""What the HTTP APIs of a hub keep (VDXP, vdxp_api.py; LGSP, lgsp_api.py): connected systems and their agencies,
packages waiting to be fetched, and packages sent (tables in models.py, VdxpBase; one database per hub, next to its
relay log and directory, shared by both APIs so that an agency is registered to one system of either protocol).

Trust rules (docs/interconnect.md, "The VDXP API", "The LGSP API"):
- a system is provisioned by the hub's operator (`congvan vdxp system-add`, `congvan lgsp system-add`), with the
  agencies it may speak for; its secret is generated then and shown once. A VDXP secret is kept as it is (the HMAC
  is recomputed with it); an LGSP secret, which its client sends, only as its SHA-256;
- each API serves only the systems of its own protocol;
- through `registerAgency` a system may add only sub-units of an agency already registered to it, never an
  agency another system holds, nor one an installation reaches over RabbitMQ (a topology agency) or that
  another hub serves;
- a system sends only `from` its own agencies and sees only packages addressed to them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.common import clock
from services.common.clock import VN_TZ
from services.common.db import Database
from services.interconnect import identifiers
from services.interconnect.axis import Refusal, Why
from services.interconnect.models import VdxpAgency, VdxpReceived, VdxpSent, VdxpSystem

VDXP, LGSP = "vdxp", "lgsp"
HASHED = "sha256:"

PENDING = ("initial", "processing")   # listed by getReceivedEdocList until done or fail
STATUS_DESC = {"initial": "Chờ nhận", "processing": "Đang xử lý", "done": "Đã nhận", "fail": "Nhận lỗi"}
# A final transport status stays: a second `done` is idempotent, a `fail` after `done` (or the reverse) refused.
FINAL = ("done", "fail")


def vn_time(moment: datetime | None) -> str:
    """Times on the wire: Vietnam time, `yyyy-MM-dd HH:mm:ss`."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite gives naive UTC back
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Agency:
    organ_id: str
    system_id: str
    name: str
    active: bool
    bound: bool


class VdxpStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        database.create_all()

    # -- systems -------------------------------------------------------------------------------------------
    def add_system(self, system_id: str, name: str = "", secret: str | None = None, protocol: str = VDXP) -> str:
        """Create (or re-key) a system; returns its secret. Generated here, never stored in the repository."""
        secret = secret or secrets.token_urlsafe(32)
        kept = secret if protocol == VDXP else HASHED + _digest(secret)
        with self.db.session() as s:
            row = s.get(VdxpSystem, system_id)
            if row is not None and _protocol(row) != protocol:
                raise Refusal(Why.CONFLICT, f"Mã hệ thống {system_id} đã dùng cho kết nối {_protocol(row).upper()}.",
                              f"{system_id} is a {_protocol(row)} system")
            if row is None:
                s.add(VdxpSystem(system_id=system_id, name=name, secret=kept, active=True, created_at=clock.now_utc(),
                                 protocol=protocol))
            else:
                row.secret, row.active = kept, True
                row.name = name or row.name
        return secret

    def secret_of(self, system_id: str) -> str | None:
        """A VDXP system's HMAC key (None for an unknown, inactive or LGSP system)."""
        with self.db.session() as s:
            row = s.get(VdxpSystem, system_id)
            return row.secret if row is not None and row.active and _protocol(row) == VDXP else None

    def secret_matches(self, system_id: str, given: str, protocol: str = LGSP) -> bool:
        """Whether `given` is the secret of an active system of `protocol`. The digests are compared in constant
        time, and an unknown system costs the same comparison, so that neither timing nor the answer tells which
        system ids exist."""
        with self.db.session() as s:
            row = s.get(VdxpSystem, system_id) if system_id else None
            kept = row.secret if row is not None and row.active and _protocol(row) == protocol else ""
        expected = kept[len(HASHED):] if kept.startswith(HASHED) else _digest(kept) if kept else "0" * 64
        return hmac.compare_digest(expected.encode(), _digest(given).encode()) and bool(kept)

    def systems(self, protocol: str = VDXP) -> list[str]:
        return [system_id for system_id, _name in self.system_names(protocol)]

    def system_names(self, protocol: str = VDXP) -> list[tuple[str, str]]:
        with self.db.session() as s:
            rows = s.scalars(select(VdxpSystem).where(VdxpSystem.active).order_by(VdxpSystem.system_id))
            return [(r.system_id, r.name) for r in rows if _protocol(r) == protocol]

    # -- agencies ------------------------------------------------------------------------------------------
    def grant(self, system_id: str, organ_id: str, name: str = "", parent: str = "", **contact: str) -> None:
        """Register `organ_id` to `system_id` (operator's grant or an accepted registerAgency). Not yet bound:
        the API binds it on the broker and enters it in the directory before it can receive."""
        organ_id = identifiers.validate(organ_id)
        with self.db.session() as s:
            row = s.get(VdxpAgency, organ_id)
            if row is not None and row.active and row.system_id != system_id:
                raise Refusal(Why.CONFLICT, f"Cơ quan {organ_id} đã được đăng ký cho hệ thống khác.",
                              f"{organ_id} belongs to {row.system_id}")
            if row is None:
                row = VdxpAgency(organ_id=organ_id, system_id=system_id)
                s.add(row)
            row.system_id, row.active, row.bound = system_id, True, bool(row.bound and row.active)
            row.name, row.parent = name or row.name or "", parent or row.parent or ""
            row.mail = contact.get("mail", row.mail or "")
            row.mobile = contact.get("mobile", row.mobile or "")
            row.fax = contact.get("fax", row.fax or "")
            row.updated_at = clock.now_utc()

    def agency(self, organ_id: str) -> Agency | None:
        with self.db.session() as s:
            row = s.get(VdxpAgency, identifiers.normalize(organ_id))
            return Agency(row.organ_id, row.system_id, row.name, row.active, row.bound) if row else None

    def agencies(self, system_id: str | None = None, *, active: bool | None = True,
                 protocol: str | None = None) -> list[Agency]:
        """The agencies of one system, or of every system (of one protocol, when given)."""
        with self.db.session() as s:
            q = select(VdxpAgency).order_by(VdxpAgency.organ_id)
            if system_id is not None:
                q = q.where(VdxpAgency.system_id == system_id)
            if active is not None:
                q = q.where(VdxpAgency.active == active)
            rows = list(s.scalars(q))
        if protocol is not None:
            mine = set(self.systems(protocol))
            rows = [r for r in rows if r.system_id in mine]
        return [Agency(r.organ_id, r.system_id, r.name, r.active, r.bound) for r in rows]

    def contacts(self) -> dict[str, dict[str, str]]:
        with self.db.session() as s:
            return {r.organ_id: {"mail": r.mail, "mobile": r.mobile, "fax": r.fax}
                    for r in s.scalars(select(VdxpAgency).where(VdxpAgency.active))}

    def mark(self, organ_id: str, *, active: bool | None = None, bound: bool | None = None) -> None:
        with self.db.session() as s:
            row = s.get(VdxpAgency, organ_id)
            if row is None:
                return
            if active is not None:
                row.active = active
            if bound is not None:
                row.bound = bound
            row.updated_at = clock.now_utc()

    def owns(self, system_id: str, organ_id: str) -> bool:
        found = self.agency(organ_id)
        return found is not None and found.active and found.system_id == system_id

    # -- received ------------------------------------------------------------------------------------------
    def keep(self, system_id: str, recipient: str, sender: str, message_id: str, kind: str, body: bytes,
             sha256: str, document_id: str = "", status_code: str = "") -> str:
        """Keep one package for a recipient; idempotent on (message_id, recipient). Returns its docId."""
        doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vdxp/{message_id}/{recipient}"))
        now = clock.now_utc()
        try:
            with self.db.session() as s:
                if s.get(VdxpReceived, doc_id) is None:
                    s.add(VdxpReceived(doc_id=doc_id, system_id=system_id, recipient=recipient, sender=sender,
                                       message_id=message_id, message_type=kind, document_id=document_id,
                                       status_code=status_code, status="initial", status_desc="", body=body,
                                       sha256=sha256, created_at=now, updated_at=now))
        except IntegrityError:
            pass  # a redelivered copy already kept (another consumer won the race): same docId
        return doc_id

    def pending(self, system_id: str, message_type: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        with self.db.session() as s:
            q = (select(VdxpReceived).where(VdxpReceived.system_id == system_id, VdxpReceived.status.in_(PENDING))
                 .order_by(VdxpReceived.created_at, VdxpReceived.doc_id).limit(limit))
            if message_type:
                q = q.where(VdxpReceived.message_type == message_type)
            return [{"docId": r.doc_id, "serviceType": "eDoc", "messageType": r.message_type,
                     "created_time": vn_time(r.created_at), "updated_time": vn_time(r.updated_at),
                     "from": r.sender, "to": r.recipient, "status": r.status,
                     "status_desc": r.status_desc or STATUS_DESC.get(r.status, r.status)}
                    for r in s.scalars(q)]

    def count_pending(self, system_id: str, message_type: str) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(VdxpReceived).where(
                VdxpReceived.system_id == system_id, VdxpReceived.status.in_(PENDING),
                VdxpReceived.message_type == message_type)) or 0)

    def waiting(self, protocol: str = VDXP) -> int:
        """Packages of the systems of one protocol not yet acknowledged (done or fail): the gauge of a stalled
        system."""
        systems = self.systems(protocol)
        if not systems:
            return 0
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(VdxpReceived).where(
                VdxpReceived.status.in_(PENDING), VdxpReceived.system_id.in_(systems))) or 0)

    def body(self, system_id: str, doc_id: str) -> bytes:
        with self.db.session() as s:
            row = s.get(VdxpReceived, doc_id)
            if row is None or row.system_id != system_id:
                raise _not_found(doc_id)
            return row.body

    def update_status(self, system_id: str, doc_id: str, status: str, description: str = "") -> tuple[bool, Any]:
        """Set the transport status of a received package. Returns (changed, row snapshot)."""
        with self.db.session() as s:
            row = s.get(VdxpReceived, doc_id)
            if row is None or row.system_id != system_id:
                raise _not_found(doc_id)
            if row.status == status:
                return False, _snapshot(row)
            if row.status in FINAL:
                raise Refusal(Why.CONFLICT, f"Gói tin {doc_id} đã ở trạng thái cuối “{row.status}”.",
                              f"{doc_id}: {row.status} -> {status} refused")
            row.status, row.status_desc, row.updated_at = status, description or STATUS_DESC[status], clock.now_utc()
            return True, _snapshot(row)

    # -- sent ----------------------------------------------------------------------------------------------
    def sent(self, doc_id: str) -> VdxpSent | None:
        with self.db.session() as s:
            return s.get(VdxpSent, doc_id)

    def record_sent(self, *, doc_id: str, system_id: str, sender: str, recipients: Iterable[str], kind: str,
                    document_id: str, notation: str, title: str, sha256: str) -> None:
        try:
            with self.db.session() as s:
                if s.get(VdxpSent, doc_id) is None:
                    s.add(VdxpSent(doc_id=doc_id, system_id=system_id, sender=sender,
                                   recipients=",".join(recipients), message_type=kind, document_id=document_id,
                                   notation=notation, title=title, sha256=sha256, sent_at=clock.now_utc()))
        except IntegrityError:
            pass  # the same sendEdoc, retried concurrently

    def sent_list(self, system_id: str, message_type: str | None = None, doc_id: str = "",
                  limit: int = 1000) -> list[dict[str, Any]]:
        """One item per (sent package, recipient): the receiver's transport status when it is connected here,
        else the latest status package that recipient sent back about the document."""
        with self.db.session() as s:
            q = select(VdxpSent).where(VdxpSent.system_id == system_id).order_by(VdxpSent.sent_at.desc()).limit(limit)
            if message_type:
                q = q.where(VdxpSent.message_type == message_type)
            if doc_id:
                q = q.where(VdxpSent.doc_id == doc_id)
            items: list[dict[str, Any]] = []
            for sent in s.scalars(q):
                for recipient in [r for r in sent.recipients.split(",") if r]:
                    item = {"senderDocId": sent.doc_id, "fromCode": sent.sender, "toCode": recipient,
                            "sendStatus": "sent", "sendStatusDesc": "Đã gửi lên trục",
                            "sentTime": vn_time(sent.sent_at), "notation": sent.notation or None,
                            "title": sent.title or None, "serviceType": "eDoc", "messageType": sent.message_type,
                            "receiveStatus": "initial", "receiveStatusDesc": STATUS_DESC["initial"]}
                    copy = s.scalar(select(VdxpReceived).where(VdxpReceived.message_id == sent.doc_id,
                                                               VdxpReceived.recipient == recipient))
                    if copy is not None:
                        item.update(receiverDocId=copy.doc_id, receiveStatus=copy.status,
                                    receiveStatusDesc=copy.status_desc or STATUS_DESC.get(copy.status, ""),
                                    receivedTime=vn_time(copy.created_at))
                    elif sent.document_id:
                        back = s.scalar(select(VdxpReceived).where(
                            VdxpReceived.message_type == "status", VdxpReceived.recipient == sent.sender,
                            VdxpReceived.sender == recipient, VdxpReceived.document_id == sent.document_id)
                            .order_by(VdxpReceived.created_at.desc()).limit(1))
                        if back is not None:
                            item.update(receiveStatus=back.status_code,
                                        receiveStatusDesc=f"Trạng thái {back.status_code}",
                                        receivedTime=vn_time(back.created_at))
                    items.append(item)
            return items


def _snapshot(row: VdxpReceived) -> dict[str, Any]:
    return {"doc_id": row.doc_id, "recipient": row.recipient, "sender": row.sender, "message_id": row.message_id,
            "message_type": row.message_type, "status": row.status, "body": row.body,
            "updated_at": _aware(row.updated_at)}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _not_found(doc_id: str) -> Refusal:
    return Refusal(Why.NOT_FOUND, f"Không tìm thấy gói tin có mã {doc_id or '(trống)'}.", f"unknown docId {doc_id!r}")


def _protocol(row: VdxpSystem) -> str:
    return row.protocol or VDXP   # rows from before the column existed are VDXP systems


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
