"""Outgoing documents: submit for issue, number and seal, register a document signed elsewhere, dispatch it to
its recipients through the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.actor import Actor, Role
from services.common.clock import vn_date
from services.common.db import Database
from services.common.errors import Conflict, CongVanError, NotFound, ValidationFailed
from services.common.outbox import enqueue
from services.registry import document_dossiers, domain, numbering, replacement, rules, year_registers
from services.registry.catalog import URGENCY_LABELS, type_name
from services.registry.documents import (
    _attachments,
    _history,
    _in_agency,
    _iso,
    _list,
    _load,
    build_package,
    profile,
    requested_before,
    summary,
)
from services.registry.domain import Direction, ServiceUnavailable, State
from services.registry.incoming import Verify
from services.registry.models import (
    AgencyProfile,
    Attachment,
    Document,
    DocumentLink,
    RecipientStatus,
    Register,
)

log = logging.getLogger(__name__)


# signing.fill_and_seal(pdf_sha256, number_text, date_text, notation, appendices) -> {"sha256", "appendices"}
Sign = Callable[..., dict[str, Any]]  # (pdf, number_text, date_text, notation, appendices, *, operation_id)


ISSUE_RETRIES = 5


def submit_for_issue(db: Database, actor: Actor, draft: dict[str, Any]) -> dict:
    """A leader-signed draft lands in "waiting to issue" (chờ ban hành). Idempotent on draft_id."""
    _in_agency(db, actor)
    actor.require(Role.SYSTEM, Role.LEADER, Role.CLERK)
    domain.refuse_secret(draft)
    domain.check_required(draft, (*domain.OUTGOING_REQUIRED, ("pdf_sha256", "Tệp văn bản đã ký"),
                                  ("draft_id", "Mã dự thảo")))
    domain.check_type_code(draft["type_code"])
    domain.check_lengths(draft, domain.OUTGOING_FIELDS)
    with db.session() as session:
        existing = session.execute(select(Document).where(Document.agency_id == actor.agency_id,
                                                          Document.draft_id == str(draft["draft_id"]))
                                   ).scalar_one_or_none()
        if existing is not None:
            return {**summary(existing), "duplicate": True}
        prof = profile(session, actor.agency_id)
        signer = draft.get("signer") or {}
        doc = Document(
            agency_id=actor.agency_id, direction=Direction.OUTGOING, state=State.WAITING_ISSUE,
            draft_id=str(draft["draft_id"])[:64], type_code=draft["type_code"], type_name=type_name(draft["type_code"]),
            # Column 6 of the outgoing register: the unit that drafted it, as routing named it at signing.
            drafting_unit=str(draft.get("unit") or "")[:40] or None,
            drafting_unit_name=str(draft.get("unit_name") or "")[:200] or None,
            code_notation=draft.get("code_notation") or domain.make_notation(
                draft["type_code"], prof.abbreviation, draft.get("unit_abbr")),
            organ_id=actor.agency_id, organ_name=prof.organ_name, promulgation_place=prof.place,
            subject=str(draft["subject"]).strip(), content=str(draft.get("content") or ""),
            signer_competence=str(signer.get("competence") or "")[:100],
            signer_position=str(signer.get("position") or draft.get("signer_position") or "")[:100],
            signer_full_name=str(signer.get("full_name") or draft.get("signer_full_name") or "")[:50],
            priority=domain.urgency(draft.get("priority")), page_amount=draft.get("page_amount"),
            due_date=domain.parse_date(draft["due_date"]) if draft.get("due_date") else None,
            handlers=[str(h) for h in draft.get("handlers") or []], to_places=list(draft.get("to_places") or []),
            package={"suggested_recipients": draft.get("recipients") or [], "answers": draft.get("answers") or [],
                     # who approved on paper and who forwarded the scan: the document page and issue read it
                     **({"paper_signed": _paper_signed(draft["paper_signed"])} if draft.get("paper_signed") else {})},
        )
        session.add(doc)
        session.flush()
        session.add(Attachment(document_pk=doc.id, sha256=draft["pdf_sha256"], role="main",
                               name=str(draft.get("pdf_name") or "van-ban.pdf")[:255]))
        # The contract with routing's `draft_signed` (tests/contracts): the appendices are `appendix_sha256s`.
        names = list(draft.get("appendix_names") or [])
        for index, sha in enumerate(draft.get("appendix_sha256s") or [], start=1):
            name = names[index - 1] if index <= len(names) and names[index - 1] else f"Phụ lục {index:02d}.pdf"
            session.add(Attachment(document_pk=doc.id, sha256=sha, role="appendix", name=str(name)[:255],
                                   description=f"Phụ lục {index:02d}", position=index))
        for incoming_pk in draft.get("answers") or []:
            target = session.get(Document, incoming_pk)
            if target is not None and target.agency_id == actor.agency_id and target.direction == Direction.INCOMING:
                session.add(DocumentLink(from_pk=doc.id, to_pk=target.id, kind="answers"))
        _history(session, doc, actor, "submitted_for_issue", {
            "draft_id": doc.draft_id, **({"paper_signed": doc.package["paper_signed"]}
                                         if doc.package.get("paper_signed") else {})})
        return {**summary(doc), "duplicate": False}


PAPER_SIGNED_KEYS = ("approved_by", "approved_by_name", "on_behalf_of", "approved_at", "forwarded_by",
                     "forwarded_by_name", "forwarded_at")


def _paper_signed(value: Any) -> dict[str, Any]:
    """routing's `paper_signed` (tests/contracts): the leader who signed the paper original and the handler who
    forwarded its scan, kept as text of bounded length, and the check of the scan against the approved version
    (`scan_check`: score in per cent or None when nothing could be read, whether it reached the threshold,
    whether the handler confirmed a scan that did not), and, when the appendices are scans of the paper appendices
    (routing's paper.py: they replace the approved version's appendix files), how many (`appendix_scans`) and how
    many of the version's files they replaced (`replaced_appendices`)."""
    if not isinstance(value, dict):
        raise ValidationFailed("Thông tin ký trên giấy không hợp lệ.", code="bad_paper_signed")
    kept: dict[str, Any] = {k: str(value.get(k) or "")[:200] for k in PAPER_SIGNED_KEYS}
    check = value.get("scan_check")
    if isinstance(check, dict):  # how well the scan matched the approved version, and whether the handler confirmed
        score = check.get("score")
        kept["scan_check"] = {"score": score if isinstance(score, int) and 0 <= score <= 100 else None,
                              "matches": bool(check.get("matches")), "confirmed": bool(check.get("confirmed"))}
    scans = value.get("appendix_scans")
    if isinstance(scans, int) and not isinstance(scans, bool) and scans > 0:
        replaced = value.get("replaced_appendices")
        kept.update(appendix_scans=min(scans, 999), replaced_appendices=min(replaced, 999) if isinstance(
            replaced, int) and not isinstance(replaced, bool) and replaced > 0 else 0)
    return kept


def list_waiting_issue(db: Database, actor: Actor, page: int = 1, size: int = 50) -> dict:
    """Urgent ones first: they are issued immediately after signing (DOMAIN.md outgoing 4)."""
    _in_agency(db, actor)
    return _list(db, actor, Direction.OUTGOING, [State.WAITING_ISSUE], {}, page, size,
                 order=(Document.priority.desc(), Document.created_at))


def list_outgoing(db: Database, actor: Actor, filters: dict[str, Any] | None = None, page: int = 1,
                  size: int = 50) -> dict:
    _in_agency(db, actor)
    filters = filters or {}
    states = [filters["state"]] if filters.get("state") else [State.ISSUED, State.RECALLED]
    return _list(db, actor, Direction.OUTGOING, states, filters, page, size,
                 order=(Document.priority.desc(), Document.registered_at.desc()))


def _dispatch_issued(session: Session, actor: Actor, doc: Document, recipients: list[dict[str, str]],
                     replaced: Document | None = None) -> None:
    """Recipients' rows, the package for the edge (of type 3 when it replaces `replaced`), answered incoming
    documents, and `outgoing_issued`."""
    for r in recipients:
        session.add(RecipientStatus(document_pk=doc.id, organ_id=r["organ_id"], organ_name=r.get("organ_name", ""),
                                    channel=r.get("channel", "interconnect")))
    remote = [r for r in recipients if r.get("channel", "interconnect") == "interconnect"]
    prof = profile(session, actor.agency_id)
    answers = [lk.to_pk for lk in session.execute(select(DocumentLink).where(
        DocumentLink.from_pk == doc.id, DocumentLink.kind == "answers")).scalars()]
    response_for = []
    for incoming_pk in answers:
        incoming = session.get(Document, incoming_pk)
        if incoming is not None:
            incoming.handled = True
            _history(session, incoming, actor, "answered", {"outgoing_id": doc.id})
            response_for.append({"organ_id": incoming.organ_id, "code": f"{incoming.code_number}/"
                                 f"{incoming.code_notation}", "promulgation_date": _iso(incoming.issued_date),
                                 "document_id": incoming.document_id})
    doc.package = {**(doc.package or {}), "response_for": response_for}
    replacements = replacement.link(session, actor, doc, replaced) if replaced is not None else None
    if remote:
        enqueue(session, "outgoing_package", build_package(
            prof, doc, remote, _attachments(session, doc), actor, 3 if replaced is not None else 0,
            replacement.reason(replaced) if replaced is not None else "", replacements))
    units = domain.internal_units((r["organ_id"], r.get("channel", "interconnect")) for r in recipients)
    if answers or doc.draft_id or units:
        # routing closes what it answers, marks the draft "Đã ban hành" with its number and delivers the document to
        # the agency's own units among the recipients (their people notified, the unit's list; tests/contracts)
        enqueue(session, "outgoing_issued", {
            "outgoing_id": doc.id, "answers": answers, "draft_id": doc.draft_id,
            "number": f"{doc.code_number}/{doc.code_notation}", "issued_at": _iso(doc.registered_at),
            "subject": doc.subject, "internal_units": units,
            "replaces": replaced.id if replaced is not None else None})


# Refusals of the signing service that the clerk can act on, passed through as they are (issue 20: the seal
# token's PIN typed at issue); anything else from signing is "unavailable, try again later".
SIGNER_REFUSALS = {"pin_incorrect", "pin_locked", "pin_required", "server_held_key"}


def issue_outgoing(db: Database, actor: Actor, outgoing_id: str, register_id: str, recipients: list[dict[str, Any]],
                   sign: Sign, urgency: int | None = None, no_paper_copy: bool = False,
                   issued_amount: int | None = None, to_places: list[str] | None = None,
                   legal_normative: bool = False, replaces: str | None = None,
                   request_key: str | None = None) -> dict:
    """Number and date from the register, filled in and seal-signed by `signing`, then dispatched.

    `replaces`: one of the agency's issued outgoing documents that this one replaces (services/registry/
    replacement.py): its recipients receive this one too, in a package of business type 3 naming it.
    `request_key` (the form's or the API's Idempotency-Key): the same issue asked again returns the document.

    `recipients` carry their channel (domain.RECIPIENT_CHANNELS): only electronic ones are sent.
    `issued_amount`: column 7 of the outgoing register (số lượng bản). `legal_normative`, or a legal-normative
    register chosen: the number comes from the type's own series and carries the year (`09/2026/QĐ-UBND`).

    The signing call happens outside any transaction (it is a network round trip): the number is read, the PDF
    signed with it, and the number is taken only if it is still the next one; otherwise the PDF is signed again
    with the new number. Nothing is numbered if signing fails.
    """
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    priority = domain.urgency(urgency) if urgency is not None else None
    if issued_amount is not None:
        domain.check_lengths({"issued_amount": issued_amount}, domain.OUTGOING_FIELDS)
        if int(issued_amount) < 1:
            raise ValidationFailed("“Số lượng bản phát hành” phải từ 1 trở lên.", code="bad_amount",
                                   field="issued_amount", value=issued_amount)
    with db.session() as session:
        doc = _load(session, actor, outgoing_id, Direction.OUTGOING)
        if replacement.issued_before(session, doc, request_key):
            return {**summary(doc), "duplicate": True}
        domain.check_transition(Direction.OUTGOING, doc.state, State.ISSUED)
        if replaces:
            target = replacement.load_target(session, actor, outgoing_id, replaces)
            recipients = replacement.with_target_recipients(session, recipients, target)
        clean = domain.check_recipients(recipients)
        main = _attachments(session, doc, "main")
        appendices = [a.sha256 for a in domain.in_document_order(_attachments(session, doc, "appendix"))]
        notation = doc.code_notation or ""
        # signed by hand on paper and forwarded as a scan (routing's paper.py, Hưng Yên Đ6.3a): no fields to fill
        paper = {"paper_signed": True} if (doc.package or {}).get("paper_signed") else {}
        register_id, legal = _issuing_register(session, actor, doc, register_id, legal_normative)
    if legal:
        notation = domain.legal_notation(notation, vn_date(clock.now_utc()).year)
    if not main:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản đã ký”.", code="missing_field", field="pdf")
    domain.check_notation(notation)
    chosen_id = register_id   # last year's on a form opened before midnight in Vietnam: its successor numbers
    for _attempt in range(ISSUE_RETRIES):
        register_id, number = year_registers.peek_current(db, actor.agency_id, chosen_id, Direction.OUTGOING)
        today = vn_date(clock.now_utc())
        try:
            signed = sign(main[0].sha256, domain.format_number(number), f"{today:%d/%m/%Y}", notation, appendices,
                          operation_id=domain.seal_operation(outgoing_id), **paper)
        except Exception as exc:
            if isinstance(exc, CongVanError) and exc.code in SIGNER_REFUSALS:
                raise  # the seal token's own answer (wrong PIN, locked): the clerk can act on it; nothing numbered
            raise ServiceUnavailable(
                "Không đóng dấu, ký số được văn bản: dịch vụ ký số không phản hồi. Văn bản chưa được cấp số; "
                "vui lòng thử lại sau.", code="signing_unavailable", error=str(exc)[:300]) from exc
        try:
            with db.session() as session:
                doc = _load(session, actor, outgoing_id, Direction.OUTGOING, for_update=True)
                domain.check_transition(Direction.OUTGOING, doc.state, State.ISSUED)
                # checked again under lock: another document may have replaced it while this one was sealed
                replaced = (replacement.load_target(session, actor, outgoing_id, replaces, for_update=True)
                            if replaces else None)
                got = numbering.allocate(session, register_id, actor.agency_id, Direction.OUTGOING,
                                         expected=number)
                doc.register_id, doc.number, doc.year = register_id, got, today.year
                doc.code_number, doc.code_notation = domain.format_number(got), notation
                doc.issued_date, doc.registered_at, doc.state = today, clock.now_utc(), State.ISSUED
                doc.document_id = domain.document_id(actor.agency_id, today, got, notation)
                doc.no_paper_copy = bool(no_paper_copy)
                if priority is not None:
                    doc.priority = priority
                if issued_amount is not None:
                    doc.issued_amount = int(issued_amount)
                if to_places is not None:
                    doc.to_places = list(to_places)
                session.add(Attachment(document_pk=doc.id, sha256=signed["sha256"], role="signed",
                                       name=f"{domain.format_number(got)}-{notation}.pdf"))
                for index, sha in enumerate(signed.get("appendices") or [], start=1):
                    # sent with the document; the recipient knows them by this description (edXML Description)
                    session.add(Attachment(
                        document_pk=doc.id, sha256=sha, role="appendix_signed", description=f"Phụ lục {index:02d}",
                        position=index,
                        name=f"{domain.format_number(got)}-{notation} Phụ lục {index:02d}.pdf"[:255]))
                turn = numbering.year_turn(session, chosen_id, register_id)
                _history(session, doc, actor, "issued", {
                    "number": domain.number_display(got, notation), "register_id": register_id,
                    **numbering.turn_details(turn),
                    "urgency": URGENCY_LABELS.get(doc.priority), "recipients": [r["organ_id"] for r in clean],
                    **({"legal_normative": True} if legal else {}),
                    **({"replaces": replaced.id, "replaces_number": replacement.number_of(replaced)}
                       if replaced is not None else {}),
                    **({"key": request_key} if request_key else {}),
                    **({"issued_amount": doc.issued_amount} if doc.issued_amount else {})})
                _dispatch_issued(session, actor, doc, clean, replaced)
                session.flush()
                document_dossiers.file_issued(session, actor, doc)
                return {**summary(doc), "year_turn": turn}
        except Conflict as exc:
            if numbering.turned_meanwhile(exc):
                continue   # midnight passed while sealing: sealed again with the successor's number
            if exc.code != "number_taken":
                raise
            log.info("number %s taken while signing; signing again", number)
    raise Conflict("Sổ đang được dùng liên tục; chưa cấp được số, vui lòng thử lại.", code="number_busy")


def _issuing_register(session: Session, actor: Actor, doc: Document, register_id: str,
                      legal_normative: bool) -> tuple[str, bool]:
    """The register that numbers this issue and whether the document is legal-normative. Such a document takes
    its number from its type's own register (NĐ 30/2020/NĐ-CP Điều 15.1), found for the clerk when she ticked
    "văn bản quy phạm pháp luật"; a legal-normative register chosen makes the document one."""
    chosen = session.get(Register, register_id)
    chosen_type = domain.legal_type(chosen.scope) if chosen is not None else None
    if not legal_normative and chosen_type is None:
        return register_id, False
    scope = domain.legal_scope(doc.type_code or "")
    if chosen_type is not None:
        if chosen_type != doc.type_code:
            raise ValidationFailed(f"Sổ “{chosen.name}” chỉ cấp số cho {type_name(chosen_type).lower()} quy phạm "
                                   f"pháp luật; văn bản này là {(doc.type_name or '').lower()}.",
                                   code="wrong_register", field="register_id")
        return register_id, True
    year = numbering.numbering_year()
    found = session.execute(select(Register).where(
        Register.agency_id == actor.agency_id, Register.direction == Direction.OUTGOING, Register.year == year,
        Register.scope == scope)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Chưa có sổ văn bản quy phạm pháp luật ({type_name(doc.type_code or '').lower()}) năm "
                       f"{year}: văn bản quy phạm pháp luật được đánh số riêng theo từng loại (Nghị định "
                       f"30/2020/NĐ-CP Điều 15.1). Cần mở sổ này trước khi ban hành.", code="no_register",
                       scope=scope, year=year)
    return found.id, True


def _signature_roles(verify: Verify, pdf_sha256: str, appendices: list[str], accept_not_valid: bool,
                     allowed: bool) -> tuple[str, str, dict[str, Any]]:
    """"Gửi văn bản" checks the signatures first (issue 18): the roles of the main file and of the appendices, and
    signing's report on the main file. A document without a legally valid signature is refused, or — only where
    the agency allows it and the clerk chose so — sent marked as not legally valid, never counted as signed."""
    reports = {}
    for sha in [pdf_sha256, *appendices]:
        try:
            reports[sha] = verify(sha)
        except Exception as exc:  # no verdict, no sending: an unchecked document must not leave as signed
            raise ServiceUnavailable("Chưa kiểm tra được chữ ký số của văn bản: dịch vụ ký số không phản hồi. "
                                     "Văn bản chưa được gửi; vui lòng thử lại sau.", code="signing_unavailable",
                                     error=str(exc)[:300]) from exc
    bad = [sha for sha, report in reports.items()
           if not (isinstance(report, dict) and report.get("legally_valid") is True)]
    if bad and not (allowed and accept_not_valid):
        report = reports[bad[0]] if isinstance(reports[bad[0]], dict) else {}
        what = "Văn bản" if bad[0] == pdf_sha256 else "Phụ lục"
        why = report.get("summary_vi") or "chữ ký số không hợp lệ."
        hint = (" Cơ quan cho phép gửi văn bản không có giá trị pháp lý: chọn “Vẫn gửi” nếu cần."
                if allowed else "")
        raise ValidationFailed(f"{what} chưa được ký số hợp lệ nên không gửi được: {why}{hint}",
                               code="not_legally_signed", field="file" if what == "Văn bản" else "appendices",
                               verdict=report.get("verdict"))
    main_ok = pdf_sha256 not in bad
    appendix_role = "appendix_unsigned" if any(a in bad for a in appendices) else "appendix_signed"
    return ("signed" if main_ok else "unsigned"), appendix_role, reports[pdf_sha256]


def register_outgoing_signed(db: Database, actor: Actor, metadata: dict[str, Any], pdf_sha256: str,
                             recipients: list[dict[str, Any]], register_id: str, verify: Verify) -> dict:
    """A document already numbered and signed (e.g. uploaded by the clerk on "Gửi văn bản"): its signatures are
    checked, then it is registered under its number if that number is the register's next free one, and
    dispatched. `metadata.request_key` (one per form or API Idempotency-Key): sent again, the first is returned."""
    _in_agency(db, actor)
    actor.require(Role.CLERK)
    domain.refuse_secret(metadata)
    domain.check_required(metadata, (*domain.OUTGOING_REQUIRED, ("code_notation", "Ký hiệu của văn bản")))
    domain.check_type_code(metadata["type_code"])
    domain.check_lengths(metadata, domain.OUTGOING_FIELDS)
    domain.check_notation(metadata["code_notation"])
    if not pdf_sha256:
        raise ValidationFailed("Thiếu trường bắt buộc “Tệp văn bản đã ký”.", code="missing_field", field="pdf")
    clean = domain.check_recipients(recipients)
    wanted = metadata.get("code_number")
    if wanted not in (None, "") and not domain.CODE_NUMBER_RE.match(str(wanted)):
        raise ValidationFailed("Trường “Số của văn bản” phải là số.", code="not_a_number", field="code_number")
    issued = domain.parse_date(metadata["issued_date"]) if metadata.get("issued_date") else vn_date(clock.now_utc())
    key = f"send:{str(metadata['request_key'])[:200]}" if metadata.get("request_key") else None
    if (first := requested_before(db, actor.agency_id, key)) is not None:
        return first
    appendices = [str(a) for a in metadata.get("appendices") or []]
    verify = rules.judged(db, verify) or verify
    with db.session() as session:
        allowed = bool(getattr(session.get(AgencyProfile, actor.agency_id), "allow_unsigned_send", False))
    main_role, appendix_role, report = _signature_roles(verify, pdf_sha256, appendices,
                                                        bool(metadata.get("accept_not_legally_valid")), allowed)
    with db.session() as session:
        number = numbering.allocate(session, register_id, actor.agency_id, Direction.OUTGOING,
                                    expected=int(wanted) if wanted not in (None, "") else None)
        prof = profile(session, actor.agency_id)
        doc = Document(
            agency_id=actor.agency_id, direction=Direction.OUTGOING, state=State.ISSUED, register_id=register_id,
            number=number, year=numbering.numbering_year(), code_number=domain.format_number(number),
            code_notation=metadata["code_notation"], type_code=metadata["type_code"],
            type_name=type_name(metadata["type_code"]), issued_date=issued, registered_at=clock.now_utc(),
            document_id=domain.document_id(actor.agency_id, issued, number, metadata["code_notation"]),
            organ_id=actor.agency_id, organ_name=prof.organ_name, promulgation_place=prof.place,
            subject=str(metadata["subject"]).strip(), content=str(metadata.get("content") or ""),
            signer_position=str(metadata.get("signer_position") or ""),
            signer_full_name=str(metadata.get("signer_full_name") or ""),
            priority=domain.urgency(metadata.get("priority")), no_paper_copy=bool(metadata.get("no_paper_copy")),
            due_date=domain.parse_date(metadata["due_date"]) if metadata.get("due_date") else None,
            to_places=list(metadata.get("to_places") or []), handlers=[actor.user_id], dedupe_key=key,
            verification_state="valid" if main_role == "signed" else "invalid", verification=report,
        )
        session.add(doc)
        session.flush()
        session.add(Attachment(document_pk=doc.id, sha256=pdf_sha256, role=main_role,
                               name=str(metadata.get("pdf_name") or f"{doc.code_number}.pdf")[:255]))
        for index, sha in enumerate(appendices, start=1):
            session.add(Attachment(document_pk=doc.id, sha256=sha, role=appendix_role,
                                   description=f"Phụ lục {index:02d}",
                                   name=f"{doc.code_number}-{doc.code_notation} Phụ lục {index:02d}.pdf"[:255]))
        for incoming_pk in metadata.get("answers") or []:
            target = session.get(Document, incoming_pk)
            if target is not None and target.agency_id == actor.agency_id and target.direction == Direction.INCOMING:
                session.add(DocumentLink(from_pk=doc.id, to_pk=target.id, kind="answers"))
        session.flush()
        _history(session, doc, actor, "issued", {
            "number": domain.number_display(number, doc.code_notation or ""), "register_id": register_id,
            "already_signed": main_role == "signed", "no_paper_copy": doc.no_paper_copy,
            **({} if main_role == "signed" else {"not_legally_valid": True})})
        _dispatch_issued(session, actor, doc, clean)
        return {**summary(doc), "duplicate": False}
