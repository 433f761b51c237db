"""Electronic copies (bản sao điện tử): sao y, sao lục, trích sao of a document of the agency (NĐ 30/2020/NĐ-CP Điều
25–27; issue 18 item 7).

A copy is its own record (direction `copies`), numbered from the agency's copies register (Sổ bản sao, its own yearly
series from 01: NĐ 30 Phụ lục I Phần II mục II.1.c) with its own notation, e.g. `05/SY-UBND`. Its file is the copied
PDF (for trích sao, the extract the clerk uploads) with the copy form (hình thức sao, tên cơ quan, số và ký hiệu bản
sao, thời gian ký: Phụ lục I Phần II mục II.2) at the top right of page 1, sealed with the agency's key by `signing`
like an issue. As at issue, the number is read, the PDF sealed with it, and taken only if it is still the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.common.actor import Actor, Role
from services.common.clock import now_utc, now_vn, vn_date
from services.common.db import Database
from services.common.errors import Conflict, CongVanError, ValidationFailed
from services.registry import domain, numbering
from services.registry.catalog import type_name
from services.registry.documents import _attachments, _history, _in_agency, _list, _load, profile, summary
from services.registry.domain import Direction, ServiceUnavailable, State
from services.registry.models import Attachment, Document, DocumentLink

# signing.seal_copy(pdf_sha256, text, operation_id=...) -> {"sha256"}
SealCopy = Callable[..., dict[str, Any]]

COPY_FORMS = {"SY": "SAO Y", "SL": "SAO LỤC", "TrS": "TRÍCH SAO"}
SOURCE_ROLES = ("signed", "main", "unsigned")
RETRIES = 5


def copy_text(form: str, organ_name: str, number: int, notation: str) -> str:
    """The copy form printed on the copy (Phụ lục I Phần II mục II.2); the time is ISO 8601, Vietnam time."""
    return "\n".join((COPY_FORMS[form], organ_name.upper(), domain.number_display(number, notation),
                      now_vn().isoformat(timespec="seconds")))


def make_copy(db: Database, actor: Actor, source_id: str, form: str, register_id: str, seal: SealCopy,
              extract_sha256: str | None = None) -> dict[str, Any]:
    """Sao y / sao lục / trích sao of a document the clerk may see; trích sao copies the uploaded extract."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    if form not in COPY_FORMS:
        raise ValidationFailed("Hình thức sao không hợp lệ (sao y, sao lục, trích sao).", code="bad_copy_form",
                               field="form", value=str(form)[:10])
    if form == "TrS" and not extract_sha256:
        raise ValidationFailed("Trích sao: cần tải lên tệp PDF phần được trích.", code="missing_field", field="file")
    with db.session() as session:
        source = _load(session, actor, source_id)
        domain.require_view(actor, source.agency_id, source.state, source.handlers or [], source.id)
        if source.direction == Direction.COPIES or source.state not in (State.REGISTERED, State.ISSUED):
            raise ValidationFailed("Chỉ sao văn bản đến đã vào sổ hoặc văn bản đi đã ban hành.", code="not_copyable",
                                   state=source.state)
        files = {a.role: a.sha256 for a in _attachments(session, source)}
        pdf = extract_sha256 or next((files[r] for r in SOURCE_ROLES if r in files), None)
        prof = profile(session, actor.agency_id)
        notation = "-".join(p for p in (form, prof.abbreviation) if p)
        source_number = f"{source.code_number}/{source.code_notation}" if source.code_number else ""
        subject, source_pk = source.subject, source.id
    if not pdf:
        raise ValidationFailed("Văn bản không có tệp để sao.", code="no_file")
    for _attempt in range(RETRIES):
        with db.session() as session:
            number = numbering.peek(session, register_id, actor.agency_id, Direction.COPIES)
        try:
            sealed = seal(pdf, copy_text(form, prof.organ_name, number, notation),
                          operation_id=f"copy:{source_pk}:{form}:{register_id}:{number}")
        except CongVanError:
            raise  # the seal token's own refusal (wrong PIN...): nothing numbered
        except Exception as exc:
            raise ServiceUnavailable("Không đóng dấu được bản sao: dịch vụ ký số không phản hồi. Bản sao chưa được "
                                     "cấp số; vui lòng thử lại sau.", code="signing_unavailable",
                                     error=str(exc)[:300]) from exc
        try:
            with db.session() as session:
                got = numbering.allocate(session, register_id, actor.agency_id, Direction.COPIES, expected=number)
                today = vn_date(now_utc())
                copy = Document(
                    agency_id=actor.agency_id, direction=Direction.COPIES, state=State.ISSUED,
                    register_id=register_id, number=got, year=today.year, code_number=domain.format_number(got),
                    code_notation=notation, type_code=form, type_name=type_name(form), issued_date=today,
                    registered_at=now_utc(), organ_id=actor.agency_id, organ_name=prof.organ_name,
                    promulgation_place=prof.place, subject=subject,
                    description=f"{COPY_FORMS[form].capitalize()} văn bản {source_number}".strip(),
                    handlers=[actor.user_id])
                session.add(copy)
                session.flush()
                session.add(Attachment(document_pk=copy.id, sha256=sealed["sha256"], role="signed",
                                       name=f"{copy.code_number}-{notation}.pdf"))
                session.add(DocumentLink(from_pk=copy.id, to_pk=source_pk, kind="copy_of"))
                _history(session, copy, actor, "copied", {"number": domain.number_display(got, notation),
                                                          "form": form, "source_id": source_pk})
                _history(session, session.get(Document, source_pk), actor, "copy_made",
                         {"copy_id": copy.id, "number": domain.number_display(got, notation)})
                return summary(copy)
        except Conflict as exc:
            if exc.code != "number_taken":
                raise
    raise Conflict("Sổ bản sao đang được dùng liên tục; chưa cấp được số, vui lòng thử lại.", code="number_busy")


def list_copies(db: Database, actor: Actor, page: int = 1, size: int = 50) -> dict:
    """Sổ bản sao: the agency's copies, newest first."""
    _in_agency(db, actor)
    return _list(db, actor, Direction.COPIES, [State.ISSUED], {}, page, size,
                 order=(Document.registered_at.desc(),))
