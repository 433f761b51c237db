"""Pure rules of the registry: field lists and lengths (NĐ 30 Phụ lục VI), numbering display, states, visibility.

No I/O here; operations.py applies these rules to the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.common.actor import Actor, Role
from services.common.errors import CongVanError, Forbidden, ValidationFailed
from services.registry.catalog import (
    COPY_TYPES,
    DOCUMENT_TYPES,
    LEGACY_FLASH_TIMED,
    NO_ABBREVIATION_TYPES,
    SECRECY_MARKINGS,
    Urgency,
)
from services.registry.paper import CLASSIFIED_RULE


class ServiceUnavailable(CongVanError):
    code = "unavailable"
    http_status = 503


# --- directions, registers, states -------------------------------------------------------------------------

class Direction:
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    COPIES = "copies"
    ALL = (INCOMING, OUTGOING, COPIES)


DIRECTION_LABELS = {Direction.INCOMING: "Sổ văn bản đến", Direction.OUTGOING: "Sổ văn bản đi",
                    Direction.COPIES: "Sổ bản sao"}
SCOPE_ALL = "all"


class State:
    # incoming
    WAITING_RECEPTION = "waiting_reception"   # chờ tiếp nhận
    REGISTERED = "registered"                 # đã vào sổ
    REJECTED = "rejected"                     # đã từ chối
    REVOKED = "revoked"                       # bên gửi đã thu hồi / lấy lại
    # outgoing
    WAITING_ISSUE = "waiting_issue"           # chờ ban hành
    ISSUED = "issued"                         # đã ban hành, đã gửi
    RECALLED = "recalled"                     # đã thu hồi (đóng băng)


STATE_LABELS = {
    State.WAITING_RECEPTION: "Chờ tiếp nhận", State.REGISTERED: "Đã vào sổ", State.REJECTED: "Đã từ chối",
    State.REVOKED: "Đã bị thu hồi", State.WAITING_ISSUE: "Chờ ban hành", State.ISSUED: "Đã ban hành",
    State.RECALLED: "Đã thu hồi",
}

TRANSITIONS: dict[str, dict[str, set[str]]] = {
    Direction.INCOMING: {
        State.WAITING_RECEPTION: {State.REGISTERED, State.REJECTED, State.REVOKED},
        State.REGISTERED: {State.REVOKED},
    },
    Direction.OUTGOING: {
        State.WAITING_ISSUE: {State.ISSUED},
        State.ISSUED: {State.RECALLED},
    },
    # a copy is issued when it is numbered and sealed; sent over the interconnect, it is recalled as a document is
    Direction.COPIES: {
        State.ISSUED: {State.RECALLED},
    },
}


def check_transition(direction: str, current: str, target: str) -> None:
    if target not in TRANSITIONS.get(direction, {}).get(current, set()):
        raise ValidationFailed(
            f"Không thể chuyển văn bản từ trạng thái “{STATE_LABELS.get(current, current)}” "
            f"sang “{STATE_LABELS.get(target, target)}”.",
            code="invalid_transition", current=current, target=target)


# --- field lists and lengths (Phụ lục VI Phần II) ----------------------------------------------------------

@dataclass(frozen=True)
class Field:
    key: str
    label: str          # the Vietnamese name, as NĐ 30 writes it
    max_len: int
    kind: str = "str"   # str | int | date


OUTGOING_FIELDS = (
    Field("file_organ_id", "Mã định danh cơ quan lập danh mục hồ sơ", 13),
    Field("file_catalog", "Năm hình thành hồ sơ", 4, "int"),
    Field("file_notation", "Số và ký hiệu hồ sơ", 20),
    Field("doc_ordinal", "Số thứ tự văn bản trong hồ sơ", 3, "int"),
    Field("type_name", "Tên loại văn bản", 100),
    Field("code_number", "Số của văn bản", 11),
    Field("code_notation", "Ký hiệu của văn bản", 30),
    Field("issued_date", "Ngày, tháng, năm văn bản", 10, "date"),
    Field("organ_name", "Tên cơ quan, tổ chức ban hành", 200),
    Field("subject", "Trích yếu nội dung", 500),
    Field("language", "Ngôn ngữ", 30),
    Field("page_amount", "Số trang", 3, "int"),
    Field("description", "Ghi chú", 500),
    Field("signer_position", "Chức vụ người ký", 100),
    Field("signer_full_name", "Họ tên người ký", 50),
    Field("priority", "Mức độ khẩn", 1, "int"),
    Field("issued_amount", "Số lượng bản phát hành", 3, "int"),
    Field("due_date", "Hạn trả lời", 10, "date"),
)
RECIPIENT_FIELDS = (Field("organ_id", "Mã định danh nơi nhận", 13), Field("organ_name", "Tên nơi nhận", 200))

INCOMING_FIELDS = (
    *[f for f in OUTGOING_FIELDS if f.key not in {"issued_amount", "due_date"}],
    Field("arrival_date", "Ngày đến", 10, "date"),
    Field("arrival_number", "Số đến", 10, "int"),
    Field("to_places", "Đơn vị hoặc người nhận", 1000),
    Field("trace", "Ý kiến phân phối, chỉ đạo, trạng thái xử lý", 1_000_000),
    Field("due_date", "Thời hạn giải quyết", 10, "date"),
)

# Organ identifiers: legacy 13 characters; the post-2025 form is longer (STANDARDS §2.2, §8.4).
ORGAN_ID_MAX = 35
CODE_NUMBER_RE = re.compile(r"^\d{1,11}$")
CODE_NOTATION_RE = re.compile(r"^(?:\d{4}/)?[0-9A-Za-zĐđ]+(?:-[0-9A-Za-zĐđ]+)*$")

PAPER_INCOMING_REQUIRED = (("code_number", "Số của văn bản"), ("code_notation", "Ký hiệu của văn bản"),
                           ("subject", "Trích yếu nội dung"))
OUTGOING_REQUIRED = (("subject", "Trích yếu nội dung"), ("type_code", "Loại văn bản"))


def _too_long(field: Field, value: Any) -> bool:
    if value is None or value == "":
        return False
    if field.kind == "int":
        return len(str(int(value))) > field.max_len
    if field.kind == "date":
        return False  # dates are parsed, not measured
    text = value if isinstance(value, str) else "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return len(text) > field.max_len


def check_lengths(metadata: dict[str, Any], fields: tuple[Field, ...]) -> None:
    for field in fields:
        key = field.key
        if key not in metadata:
            continue
        value = metadata[key]
        if field.kind == "int" and value not in (None, ""):
            try:
                int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(f"Trường “{field.label}” phải là số.", code="not_a_number",
                                       field=key, value=str(value)[:50]) from None
        if field.kind == "date" and value not in (None, ""):
            parse_date(value, field)
        if _too_long(field, value):
            raise ValidationFailed(
                f"Trường “{field.label}” dài quá {field.max_len} ký tự.", code="too_long", field=key,
                max_len=field.max_len, length=len(str(value)))


def check_required(metadata: dict[str, Any], required: tuple[tuple[str, str], ...]) -> None:
    for key, label in required:
        value = metadata.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationFailed(f"Thiếu trường bắt buộc “{label}”.", code="missing_field", field=key)


def parse_date(value: Any, field: Field | None = None) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        label = field.label if field else "Ngày"
        raise ValidationFailed(f"Trường “{label}” không phải là ngày hợp lệ (YYYY-MM-DD).", code="bad_date",
                               field=field.key if field else "date", value=text[:30]) from None


def refuse_secret(metadata: dict[str, Any]) -> None:
    """Secret documents never enter the system (DOMAIN.md rules; QĐ 28)."""
    marking = metadata.get("secrecy")
    if marking is None or str(marking).strip().upper() in {"", "NONE", "0", "KHÔNG", "KHONG"}:
        return
    raise ValidationFailed(
        f"Không được nhập văn bản mật vào hệ thống (văn bản có đánh dấu độ mật). {CLASSIFIED_RULE}",
        code="secret_document",
        field="secrecy", marking=str(marking)[:30], known=str(marking).strip().upper() in SECRECY_MARKINGS)


def check_notation(code_notation: str) -> None:
    if not CODE_NOTATION_RE.match(code_notation or ""):
        raise ValidationFailed("Ký hiệu của văn bản không đúng thể thức (ví dụ: QĐ-UBND, UBND-VX).",
                               code="bad_notation", field="code_notation", value=(code_notation or "")[:40])


def check_type_code(type_code: str) -> None:
    if type_code not in DOCUMENT_TYPES:
        raise ValidationFailed("Loại văn bản không có trong danh mục (Phụ lục III, Nghị định 30/2020).",
                               code="unknown_type", field="type_code", value=str(type_code)[:20])


def urgency(value: Any) -> int:
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        number = -1
    if number == LEGACY_FLASH_TIMED:
        return int(Urgency.FLASH)
    if number not in {u.value for u in Urgency}:
        raise ValidationFailed("Mức độ khẩn không hợp lệ (thường, khẩn, thượng khẩn, hỏa tốc).",
                               code="bad_urgency", field="priority", value=str(value)[:10])
    return number


def check_recipients(recipients: list[dict[str, Any]]) -> list[dict[str, str]]:
    if not recipients:
        raise ValidationFailed("Thiếu trường bắt buộc “Nơi nhận”.", code="missing_field", field="recipients")
    seen: set[str] = set()
    clean = []
    for r in recipients:
        organ_id = str(r.get("organ_id") or "").strip()
        organ_name = str(r.get("organ_name") or "").strip()
        if not organ_id:
            raise ValidationFailed("Thiếu trường bắt buộc “Mã định danh nơi nhận”.", code="missing_field",
                                   field="recipients.organ_id")
        if len(organ_id) > ORGAN_ID_MAX:
            raise ValidationFailed(f"Trường “Mã định danh nơi nhận” dài quá {ORGAN_ID_MAX} ký tự.",
                                   code="too_long", field="recipients.organ_id")
        if len(organ_name) > 200:
            raise ValidationFailed("Trường “Tên nơi nhận” dài quá 200 ký tự.", code="too_long",
                                   field="recipients.organ_name")
        if organ_id in seen:
            raise ValidationFailed("Nơi nhận bị trùng.", code="duplicate_recipient", field="recipients",
                                   organ_id=organ_id)
        seen.add(organ_id)
        channel = str(r.get("channel") or "interconnect")
        if channel not in RECIPIENT_CHANNELS:
            raise ValidationFailed("Hình thức gửi không hợp lệ (điện tử, bản giấy, nội bộ).", code="bad_channel",
                                   field="recipients.channel", value=channel[:20])
        clean.append({"organ_id": organ_id, "organ_name": organ_name, "channel": channel})
    return clean


# How a recipient gets the document, chosen at issue (issue 18 item 7): only electronic ones leave over the
# interconnect; paper and internal ones are listed in the register and on the printed list of recipients.
RECIPIENT_CHANNELS = {"interconnect": "Điện tử (liên thông)", "paper": "Bản giấy", "internal": "Nội bộ"}
# An internal recipient is one of the agency's own units, `unit:<code>` (gateway/issuing.py): routing delivers the
# document to the unit's people (services/routing/unit_documents.py) from the unit codes the registry's events name.
INTERNAL_PREFIX = "unit:"
# A recipient's organ id holds 35 characters (edXML's OrganId) and a unit code up to 32 (gateway/accounts.py): the
# code of 31 or 32 characters goes under this shorter prefix instead of being cut, which would reach nobody.
SHORT_INTERNAL_PREFIX = "u:"
ORGAN_ID_MAX = 35


def internal_id(unit_code: str) -> str:
    """The organ id of one of the agency's own units as a recipient."""
    full = f"{INTERNAL_PREFIX}{unit_code}"
    return full if len(full) <= ORGAN_ID_MAX else f"{SHORT_INTERNAL_PREFIX}{unit_code}"


def internal_units(recipients: Iterable[tuple[str, str]]) -> list[str]:
    """The unit codes of the internal recipients among (organ_id, channel) pairs, in their order."""
    return [_unit_code(organ_id) for organ_id, channel in recipients
            if channel == "internal" and organ_id.startswith((INTERNAL_PREFIX, SHORT_INTERNAL_PREFIX))]


def _unit_code(organ_id: str) -> str:
    return organ_id.removeprefix(INTERNAL_PREFIX) if organ_id.startswith(INTERNAL_PREFIX) \
        else organ_id.removeprefix(SHORT_INTERNAL_PREFIX)


# --- legal-normative documents (văn bản quy phạm pháp luật) ----------------------------------------------------
# Their number carries the year (`09/2026/QĐ-UBND`, Luật Ban hành văn bản quy phạm pháp luật; STANDARDS.md §4.3)
# and each type has its own series (NĐ 30/2020/NĐ-CP Điều 15.1: "văn bản quy phạm pháp luật ... được đánh số theo
# từng loại văn bản"): an outgoing register of scope `QPPL-<type>`. The types an agency using this product issues
# as such: Nghị quyết (HĐND) and Quyết định (UBND).
LEGAL_NORMATIVE_TYPES = ("NQ", "QĐ")
LEGAL_SCOPE_PREFIX = "QPPL-"
YEAR_NOTATION_RE = re.compile(r"^\d{4}/")


def legal_scope(type_code: str) -> str:
    if type_code not in LEGAL_NORMATIVE_TYPES:
        raise ValidationFailed("Chỉ nghị quyết và quyết định được ban hành là văn bản quy phạm pháp luật.",
                               code="not_legal_normative", field="type_code", value=str(type_code)[:10])
    return f"{LEGAL_SCOPE_PREFIX}{type_code}"


def legal_type(scope: str | None) -> str | None:
    """The type of a legal-normative register (`QPPL-QĐ` → `QĐ`); None for any other register."""
    text = str(scope or "")
    return text.removeprefix(LEGAL_SCOPE_PREFIX) if text.startswith(LEGAL_SCOPE_PREFIX) else None


def legal_notation(notation: str, year: int) -> str:
    """`QĐ-UBND` of a legal-normative document issued in 2026 → `2026/QĐ-UBND` (its number: `09/2026/QĐ-UBND`)."""
    return notation if YEAR_NOTATION_RE.match(notation or "") else f"{year}/{notation}"


def is_legal_notation(notation: str | None) -> bool:
    return bool(YEAR_NOTATION_RE.match(notation or ""))


# --- numbering display (NĐ 30 Điều 15, Phụ lục I.II.3) ----------------------------------------------------

def format_number(number: int) -> str:
    """Numbers below 10 carry a leading zero: 5 -> '05'."""
    return f"{number:02d}"


def number_spellings(number: str, width: int = 11) -> list[str]:
    """A document number as it may have been written: '5' -> ['5', '05', '005', …] up to the column's width (a paper
    form's "05" is the package's "5")."""
    digits = (number or "").strip().lstrip("0")
    return [digits.rjust(n, "0") for n in range(max(1, len(digits)), width + 1)]


def make_notation(type_code: str, agency_abbr: str, unit_abbr: str | None = None) -> str:
    """`QĐ-UBND` for a typed document; `UBND-VX` for a công văn (agency + drafting unit)."""
    if type_code in NO_ABBREVIATION_TYPES:
        return "-".join(p for p in (agency_abbr, unit_abbr) if p)
    return "-".join(p for p in (type_code, agency_abbr) if p)


def number_display(number: int | str, notation: str) -> str:
    n = format_number(int(number)) if str(number).isdigit() else str(number)
    return f"Số: {n}/{notation}"


def document_id(organ_id: str, issued: date, number: int | str, notation: str) -> str:
    """edXML DocumentId: `<organ>,<yyyy/mm/dd>,<number>/<notation>`."""
    n = format_number(int(number)) if str(number).isdigit() else str(number)
    return f"{organ_id},{issued:%Y/%m/%d},{n}/{notation}"


# --- replacing an issued document (Thay thế văn bản; STANDARDS 2.2.8, business type 3) ------------------------

@dataclass(frozen=True)
class ReplaceTarget:
    """What the rule needs to know of the document to be replaced."""
    id: str
    agency_id: str
    direction: str
    organ_id: str | None
    organ_name: str | None
    state: str
    replaced_by: str | None
    number: str


def check_replaceable(agency_id: str, replacing_id: str, target: ReplaceTarget) -> None:
    """Only one of the agency's own documents, issued and still in force, may be replaced, once, by another."""
    if target.id == replacing_id:
        raise ValidationFailed("Văn bản không thể thay thế chính nó: hãy chọn văn bản đã ban hành cần thay thế.",
                               code="replaces_itself", field="replaces")
    if target.agency_id != agency_id or target.direction != Direction.OUTGOING or target.organ_id != agency_id:
        who = f" của {target.organ_name}" if target.organ_name and target.organ_id != agency_id else ""
        raise ValidationFailed(f"Văn bản {target.number}{who} không phải văn bản do cơ quan mình ban hành: chỉ "
                               "thay thế được văn bản đi của chính cơ quan.", code="replaces_other_agency",
                               field="replaces")
    if target.replaced_by:
        raise ValidationFailed(f"Văn bản {target.number} đã được thay thế bằng một văn bản khác; không thay thế "
                               "lần nữa.", code="already_replaced", field="replaces", replaced_by=target.replaced_by)
    if target.state != State.ISSUED:
        raise ValidationFailed(f"Văn bản {target.number} chưa được ban hành hoặc đã bị thu hồi "
                               f"(“{STATE_LABELS.get(target.state, target.state)}”): chỉ thay thế được văn bản "
                               "đã ban hành.", code="replaces_not_issued", field="replaces", current=target.state)


# --- who may see what (DOMAIN.md rules; issue 5 item 5) ----------------------------------------------------

PUBLIC_INSIDE_AGENCY = {State.REGISTERED, State.ISSUED, State.RECALLED, State.REVOKED}


def can_view(actor: Actor, agency_id: str, state: str, handlers: list[str]) -> bool:
    if actor.agency_id != agency_id:
        return False
    if state in PUBLIC_INSIDE_AGENCY:
        return True
    if actor.has(Role.CLERK, Role.SYSTEM, Role.ADMIN):
        return True  # the clerk's desk: waiting for reception / issue, and rejected ones
    return actor.user_id in handlers or (actor.on_behalf_of is not None and actor.on_behalf_of in handlers)


def require_view(actor: Actor, agency_id: str, state: str, handlers: list[str], doc_id: str) -> None:
    if not can_view(actor, agency_id, state, handlers):
        raise Forbidden("Bạn không có quyền xem văn bản này.", user=actor.username, document=doc_id)


def dedupe_key(document_id_: str, sender: str, recipient: str, kind: int | str) -> str:
    return f"{document_id_}|{sender}|{recipient}|{kind}"


def seal_operation(outgoing_id: str) -> str:
    """The business operation of the agency's seal on an outgoing document, for signing's idempotency (the
    number and date are part of its input: a number taken meanwhile by another document is a new signature)."""
    return f"outgoing:{outgoing_id}:seal"


# --- the files of an electronic copy (NĐ 30 Điều 25–27) ------------------------------------------------------

# The source's main file: the issued (sealed) one first; a paper arrival's scan last. NĐ 30/2020/NĐ-CP Điều 25
# khoản 1 điểm c: "Sao y từ văn bản giấy sang văn bản điện tử được thực hiện bằng việc số hóa văn bản giấy và ký số
# của cơ quan, tổ chức" (sao lục and trích sao from paper likewise, khoản 2 and 3): the scan is the digitised paper
# document, which the copy seals with the agency's key.
COPY_MAIN_ROLES = ("signed", "main", "unsigned", "scan")
APPENDIX_ROLES = ("appendix", "appendix_signed", "appendix_unsigned")
PDF_TYPE = "application/pdf"


def is_pdf(name: str | None, content_type: str | None) -> bool:
    """Only a PDF can carry the copy form and the seal signature; a file is judged by its declared type or name."""
    return (content_type or "").split(";")[0].strip().lower() == PDF_TYPE or (name or "").lower().endswith(".pdf")


def _natural(text: str | None) -> tuple:
    """"Phụ lục 2" before "Phụ lục 10"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", text or "") if part)


def in_document_order(files: list[Any], package: dict[str, Any] | None = None) -> list[Any]:
    """A document's files in the document's order: their own positions, else the order of the package it came in
    (incoming), else the appendices' numbers ("Phụ lục 01", "Phụ lục 02"). Their rows' ids are random: read in id
    order, the second appendix of a draft could be signed and sent as "Phụ lục 01"."""
    listed = [str(a.get("sha256")) for a in (package or {}).get("attachments") or [] if isinstance(a, dict)]

    def order(f: Any) -> tuple:
        place = listed.index(f.sha256) if f.sha256 in listed else len(listed)
        return (f.position is None, f.position or 0, place, _natural(f.description), _natural(f.name))

    return sorted(files, key=order)


def copy_form_of(notation: str | None, type_name: str | None) -> str | None:
    """The form of a copy received from another agency (SY, SL, TrS), or None for a document that is not one. A
    copy's notation starts with its form (NĐ 30 Phụ lục I Phần II mục II.1.c, Phụ lục III: `05/SY-UBND`), which
    every sender must write; its edXML TypeName ("Bản sao y") is free text, read when the notation says nothing."""
    head = (notation or "").strip().split("-", 1)[0]
    if head in COPY_TYPES:
        return head
    names = {DOCUMENT_TYPES[code].lower(): code for code in COPY_TYPES}
    return names.get((type_name or "").strip().lower())


def source_files(files: list[Any], package: dict[str, Any] | None) -> tuple[Any | None, list[Any]]:
    """The main file and the appendices of a document to copy, in the document's order (`in_document_order`)."""
    ordered = in_document_order(files, package)
    main = next((f for role in COPY_MAIN_ROLES for f in ordered if f.role == role), None)
    return main, [f for f in ordered if f.role in APPENDIX_ROLES]
