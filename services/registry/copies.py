"""Electronic copies (bản sao điện tử): sao y, sao lục, trích sao of a document of the agency (NĐ 30/2020/NĐ-CP Điều
25–27; issue 18 item 7).

A copy is its own record (direction `copies`), numbered from the agency's copies register (Sổ bản sao, its own yearly
series from 01: NĐ 30 Phụ lục I Phần II mục II.1.c) with its own notation, e.g. `05/SY-UBND`. A sao y or sao lục
copies the source's main file and each of its appendices (phụ lục), in the source's order (`position` 0, 1, ...);
every PDF gets the copy form (hình thức sao, tên cơ quan, số và ký hiệu bản sao, thời gian ký: Phụ lục I Phần II
mục II.2) at the top right of page 1 and is sealed with the agency's key by `signing`, like an issue. An appendix
that is not a PDF cannot carry the form: it is copied as it is (same file) and listed. A trích sao's one file is the
extract the clerk uploads. As at issue, the number is read, the files sealed with it, and it is taken only if it is
still the next one; each seal is signing's operation `copy:<source>:<form>:<register>:<number>[:appendix:<file>]`,
so a retry with the same number finds the signatures already made, and a request key makes one copy per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.clock import vn_date
from services.common.db import Database
from services.common.errors import Conflict, CongVanError, ValidationFailed
from services.registry import domain, numbering, year_registers
from services.registry.catalog import type_name
from services.registry.documents import _attachments, _history, _in_agency, _list, _load, profile, summary
from services.registry.domain import Direction, ServiceUnavailable, State
from services.registry.models import Attachment, Document, DocumentLink

# signing.seal_copy(pdf_sha256, text, operation_id=...) -> {"sha256"}
SealCopy = Callable[..., dict[str, Any]]

COPY_FORMS = {"SY": "SAO Y", "SL": "SAO LỤC", "TrS": "TRÍCH SAO"}
RETRIES = 5


def copy_text(form: str, organ_name: str, number: int, notation: str) -> str:
    """The copy form printed on the copy (Phụ lục I Phần II mục II.2); the time is ISO 8601, Vietnam time."""
    return "\n".join((COPY_FORMS[form], organ_name.upper(), domain.number_display(number, notation),
                      clock.now_vn().isoformat(timespec="seconds")))


def make_copy(db: Database, actor: Actor, source_id: str, form: str, register_id: str, seal: SealCopy,
              extract_sha256: str | None = None, request_key: str | None = None) -> dict[str, Any]:
    """Sao y / sao lục / trích sao of a document the clerk may see. Sao y and sao lục copy the main file and every
    appendix, in the source's order, each PDF with the copy form and the seal; trích sao copies the uploaded extract.
    `request_key` (the form's or the API's Idempotency-Key): the same copy asked again returns the first one."""
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
        key = f"copy:{source.id}:{request_key}"[:400] if request_key else None
        if (done := _made_before(session, actor, key)) is not None:
            return done
        if source.direction == Direction.COPIES or source.state not in (State.REGISTERED, State.ISSUED):
            raise ValidationFailed("Chỉ sao văn bản đến đã vào sổ hoặc văn bản đi đã ban hành.", code="not_copyable",
                                   state=source.state)
        files = _files_to_copy(session, source, extract_sha256)
        prof = profile(session, actor.agency_id)
        notation = "-".join(p for p in (form, prof.abbreviation) if p)
        source_number = f"{source.code_number}/{source.code_notation}" if source.code_number else ""
        subject, source_pk = source.subject, source.id
    for _attempt in range(RETRIES):
        with db.session() as session:
            if (done := _made_before(session, actor, key)) is not None:
                return done   # the same request, made meanwhile by a redelivery
        # last year's register on a form opened before midnight in Vietnam: its successor numbers
        used, number = year_registers.peek_current(db, actor.agency_id, register_id, Direction.COPIES)
        text = copy_text(form, prof.organ_name, number, notation)
        operation = f"copy:{source_pk}:{form}:{used}:{number}"
        sealed = [_sealed(seal, f, text, operation) for f in files]
        try:
            with db.session() as session:
                got = numbering.allocate(session, used, actor.agency_id, Direction.COPIES, expected=number)
                today = vn_date(clock.now_utc())
                copy = Document(
                    agency_id=actor.agency_id, direction=Direction.COPIES, state=State.ISSUED,
                    register_id=used, number=got, year=today.year, code_number=domain.format_number(got),
                    code_notation=notation, type_code=form, type_name=type_name(form), issued_date=today,
                    registered_at=clock.now_utc(), organ_id=actor.agency_id, organ_name=prof.organ_name,
                    promulgation_place=prof.place, subject=subject, dedupe_key=key,
                    description=f"{COPY_FORMS[form].capitalize()} văn bản {source_number}".strip(),
                    handlers=[actor.user_id])
                session.add(copy)
                session.flush()
                for position, (f, sha) in enumerate(zip(files, sealed, strict=True)):
                    session.add(_copied_file(copy, notation, position, f, sha))
                session.add(DocumentLink(from_pk=copy.id, to_pk=source_pk, kind="copy_of"))
                turn = numbering.year_turn(session, register_id, used)
                _history(session, copy, actor, "copied", {"number": domain.number_display(got, notation),
                                                          "form": form, "source_id": source_pk,
                                                          "files": len(files), **numbering.turn_details(turn)})
                _history(session, session.get(Document, source_pk), actor, "copy_made",
                         {"copy_id": copy.id, "number": domain.number_display(got, notation)})
                return {**summary(copy), "year_turn": turn}
        except Conflict as exc:
            if exc.code != "number_taken" and not numbering.turned_meanwhile(exc):
                raise
        except IntegrityError:
            if key is None:
                raise   # the same request made concurrently: the other one's copy is returned above
    raise Conflict("Sổ bản sao đang được dùng liên tục; chưa cấp được số, vui lòng thử lại.", code="number_busy")


@dataclass(frozen=True)
class SourceFile:
    """A file to copy: `source_id` names it in the business operation (None: the uploaded extract)."""
    sha256: str
    name: str
    content_type: str
    size: int | None
    description: str
    source_id: str | None
    appendix: bool

    @property
    def pdf(self) -> bool:
        return domain.is_pdf(self.name, self.content_type)


def _files_to_copy(session: Session, source: Document, extract_sha256: str | None) -> list[SourceFile]:
    if extract_sha256:
        return [SourceFile(extract_sha256, "", domain.PDF_TYPE, None, "", None, False)]
    main, appendices = domain.source_files(_attachments(session, source), source.package)
    if main is None:
        raise ValidationFailed("Văn bản không có tệp để sao.", code="no_file")
    return [SourceFile(a.sha256, a.name, a.content_type or "", a.size, a.description, a.id, a is not main)
            for a in (main, *appendices)]


def _sealed(seal: SealCopy, f: SourceFile, text: str, operation: str) -> str | None:
    """The sealed copy of one file (its sha256), or None for a file that is copied as it is: only a PDF carries the
    copy form. The operation names the copy (source, form, register, number) and, for an appendix, which file."""
    if f.appendix and not f.pdf:
        return None
    try:
        return seal(f.sha256, text, operation_id=f"{operation}:appendix:{f.source_id}" if f.appendix
                    else operation)["sha256"]
    except CongVanError:
        raise  # the seal token's own refusal (wrong PIN...), a file signing cannot read: nothing numbered
    except Exception as exc:
        raise ServiceUnavailable("Không đóng dấu được bản sao: dịch vụ ký số không phản hồi. Bản sao chưa được "
                                 "cấp số; vui lòng thử lại sau.", code="signing_unavailable",
                                 error=str(exc)[:300]) from exc


def _copied_file(copy: Document, notation: str, position: int, f: SourceFile, sealed: str | None) -> Attachment:
    if not f.appendix:
        return Attachment(document_pk=copy.id, sha256=sealed, role="signed", position=position,
                          name=f"{copy.code_number}-{notation}.pdf")
    description = f.description or f"Phụ lục {position:02d}"
    if sealed is None:
        return Attachment(document_pk=copy.id, sha256=f.sha256, role="appendix", position=position, name=f.name,
                          content_type=f.content_type, size=f.size, description=description[:500])
    return Attachment(document_pk=copy.id, sha256=sealed, role="appendix_signed", position=position,
                      name=(f.name or f"Phụ lục {position:02d}.pdf")[:255], description=description[:500])


def _made_before(session: Session, actor: Actor, key: str | None) -> dict[str, Any] | None:
    if key is None:
        return None
    done = session.execute(select(Document).where(Document.agency_id == actor.agency_id,
                                                  Document.dedupe_key == key)).scalar_one_or_none()
    return {**summary(done), "duplicate": True} if done is not None else None


def list_copies(db: Database, actor: Actor, page: int = 1, size: int = 50) -> dict:
    """Sổ bản sao: the agency's copies, newest first (a recalled copy keeps its number and its line)."""
    _in_agency(db, actor)
    return _list(db, actor, Direction.COPIES, [State.ISSUED, State.RECALLED], {}, page, size,
                 order=(Document.registered_at.desc(),))
