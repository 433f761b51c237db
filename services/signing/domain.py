"""Pure rules of signing: who signs what, and how a verification turns into a verdict a clerk can read.

No I/O here. verify.py gathers the facts of each signature with pyHanko (SignatureFacts); this module decides
the verdict of each signature and of the document, and writes the reasons in Vietnamese.

Document verdicts:
  unsigned     no signature at all;
  invalid      at least one signature is broken, revoked, expired, used the wrong key or was followed by a
               forbidden change (e.g. text stamped into the page after the leader signed);
  untrusted    every signature is intact but at least one does not chain to a trusted root;
  incomplete   every signature is valid and trusted but the document lacks the agency seal signature, or a
               prepared signature field is still empty;
  valid        every signature is valid and trusted and the agency seal signature is there.
"legally valid" (DOMAIN.md, kinds of electronic documents): valid, i.e. the agency seal signature is present
(with the leader's for born-digital documents, alone for scans) and everything is valid and trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.common.errors import ValidationFailed

LEADER = "leader"
SEAL = "seal"
UNKNOWN = "unknown"

ROLE_LABELS_VI = {LEADER: "chữ ký của người có thẩm quyền", SEAL: "chữ ký số của cơ quan (con dấu)",
                  UNKNOWN: "chữ ký số"}


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNTRUSTED = "untrusted"
    UNSIGNED = "unsigned"
    INCOMPLETE = "incomplete"


# pyHanko/ETSI sub-indications → what a clerk reads, and whether it makes the signature invalid (True) or
# only untrusted (False).
TRUST_PROBLEMS: dict[str, tuple[str, bool]] = {
    "NO_CERTIFICATE_CHAIN_FOUND": ("Chứng thư số không thuộc tổ chức chứng thực được tin cậy "
                                   "(không xây dựng được chuỗi tới chứng thư gốc tin cậy).", False),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": ("Chuỗi chứng thư số không hợp lệ.", True),
    "REVOKED": ("Chứng thư số của người ký đã bị thu hồi.", True),
    "REVOKED_NO_POE": ("Chứng thư số của người ký đã bị thu hồi.", True),
    "REVOKED_CA_NO_POE": ("Chứng thư số của tổ chức cấp đã bị thu hồi.", True),
    "EXPIRED": ("Chứng thư số đã hết hạn tại thời điểm ký.", True),
    "OUT_OF_BOUNDS_NO_POE": ("Chứng thư số đã hết hạn hoặc chưa có hiệu lực tại thời điểm ký.", True),
    "OUT_OF_BOUNDS_NOT_REVOKED": ("Chứng thư số đã hết hạn hoặc chưa có hiệu lực tại thời điểm ký.", True),
    "NOT_YET_VALID": ("Chứng thư số chưa có hiệu lực tại thời điểm ký.", True),
    "SIG_CONSTRAINTS_FAILURE": ("Chứng thư số không được phép dùng để ký văn bản (sai mục đích sử dụng khóa).",
                                True),
    "CHAIN_CONSTRAINTS_FAILURE": ("Chuỗi chứng thư số vi phạm ràng buộc (mục đích sử dụng khóa, chính sách).",
                                  True),
    "CRYPTO_CONSTRAINTS_FAILURE": ("Thuật toán mật mã của chữ ký không còn được chấp nhận.", True),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": ("Thuật toán mật mã của chữ ký không còn được chấp nhận.", True),
    "TRY_LATER": ("Chưa kiểm tra được tình trạng thu hồi của chứng thư số (không có CRL/OCSP).", False),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": ("Thông tin thu hồi chứng thư số đã quá hạn.", False),
    "NO_POE": ("Không có bằng chứng thời điểm ký hợp lệ.", False),
}
KEY_USAGE_PROBLEM = ("Chứng thư số không được phép dùng để ký văn bản (sai mục đích sử dụng khóa).", True)


@dataclass
class SignatureFacts:
    """What pyHanko found about one signature (verify.py fills it; nothing here does I/O)."""

    field: str
    role: str = UNKNOWN
    signer: str = ""
    issuer: str = ""
    serial: str = ""
    signing_time: str | None = None
    timestamp_time: str | None = None
    reason: str | None = None              # /Reason: for a delegate, who signs for whom (TUQ./KT./TL.)
    readable: bool = True                  # False: the signature could not be parsed at all
    intact: bool = False                   # the signed bytes hash to the signed digest
    crypto_valid: bool = False             # the signature value verifies with the certificate's key
    trusted: bool = False
    trust_root: str | None = None
    trust_problem: str | None = None       # ETSI sub-indication name
    key_usage_ok: bool = True
    revocation: str = "unknown"            # good | revoked | unknown
    revocation_source: str | None = None   # CRL | OCSP
    coverage: str | None = None            # ENTIRE_FILE | ENTIRE_REVISION | ...
    modification_level: str | None = None  # NONE | LTA_UPDATES | FORM_FILLING | ANNOTATIONS | OTHER
    docmdp_ok: bool | None = None
    certifying: bool = False
    timestamp_ok: bool | None = None       # None: no timestamp
    error: str | None = None
    reasons_vi: list[str] = field(default_factory=list)
    valid: bool = False
    fatal: bool = False                    # set by judge_signature: invalid, not merely untrusted


def role_of(field_name: str, subject: dict[str, str]) -> str:
    """Leader or seal: by our field names, else by the certificate (seal certificates name an organisation)."""
    name = field_name.lower()
    if name.startswith("lanhdao"):
        return LEADER
    if name.startswith("daucoquan"):
        return SEAL
    if subject.get("organization_identifier") or (subject.get("common_name") and
                                                  subject.get("common_name") == subject.get("organization_name")):
        return SEAL
    return LEADER if subject.get("common_name") else UNKNOWN


def judge_signature(f: SignatureFacts) -> SignatureFacts:
    """Set `valid`, `trusted` consistency and `reasons_vi` of one signature."""
    reasons: list[str] = []
    invalid = False
    if not f.readable:
        reasons.append("Không đọc được chữ ký số (dữ liệu chữ ký bị hỏng).")
        invalid = True
    elif not f.intact:
        reasons.append("Nội dung văn bản đã bị thay đổi sau khi ký: dữ liệu không còn khớp với chữ ký.")
        invalid = True
    elif not f.crypto_valid:
        reasons.append("Giá trị chữ ký số không khớp với khóa công khai của chứng thư.")
        invalid = True
    if f.readable and f.intact and f.crypto_valid:
        if f.revocation == "revoked":
            reasons.append(TRUST_PROBLEMS["REVOKED"][0])
            invalid = True
        if not f.key_usage_ok:
            reasons.append(KEY_USAGE_PROBLEM[0])
            invalid = True
        already_said = f.trust_problem in ("REVOKED", "REVOKED_NO_POE") and f.revocation == "revoked"
        if f.trust_problem and not already_said:
            text, fatal = TRUST_PROBLEMS.get(f.trust_problem, (f"Không xác thực được chứng thư số "
                                                                f"({f.trust_problem}).", False))
            if text not in reasons:
                reasons.append(text)
            invalid = invalid or fatal
        if f.docmdp_ok is False or f.modification_level == "OTHER":
            reasons.append("Văn bản đã bị sửa đổi sau khi ký theo cách không được phép "
                           "(ví dụ: thêm chữ vào nội dung trang thay vì điền vào ô đã chuẩn bị).")
            invalid = True
        if f.timestamp_ok is False:
            reasons.append("Dấu thời gian của chữ ký không hợp lệ hoặc không được tin cậy.")
            invalid = True
    f.valid = not invalid and not reasons and f.trusted
    if not invalid and not f.trusted and not reasons:
        reasons.append(TRUST_PROBLEMS["NO_CERTIFICATE_CHAIN_FOUND"][0])
    f.reasons_vi = reasons
    f.fatal = invalid
    return f


@dataclass
class DocumentVerdict:
    verdict: Verdict
    legally_valid: bool
    summary_vi: str
    missing_vi: list[str]


def proven_when_signed(f: SignatureFacts, signed_at: str) -> SignatureFacts:
    """A signature that the archive time stamp chain shows valid when signed (ltv.validate): long after, its
    certificate has expired and its CRL server is gone, so today's check cannot trust it, but its trust and
    revocation are those of its signature time (EN 319 102-1 §5.6.2.4). A broken or altered signature stays so."""
    if f.readable and f.intact and f.crypto_valid:
        f.trusted, f.trust_problem = True, None
        f.revocation, f.revocation_source = "good", "DSS"
        f.timestamp_time, f.timestamp_ok = signed_at, True
    return f


def judge_document(signatures: list[SignatureFacts], empty_fields: list[str]) -> DocumentVerdict:
    if not signatures:
        return DocumentVerdict(Verdict.UNSIGNED, False, "Văn bản chưa được ký số; chỉ có giá trị tham khảo.", [])
    judged = [judge_signature(s) for s in signatures]
    missing: list[str] = []
    roles = {s.role for s in judged}
    if SEAL not in roles:
        missing.append("Văn bản chưa có chữ ký số của cơ quan, tổ chức (con dấu).")
    for name in empty_fields:
        missing.append(f"Trường ký \"{name}\" đã được chuẩn bị nhưng chưa được ký.")
    if any(s.fatal for s in judged):
        bad = next(s for s in judged if s.fatal)
        return DocumentVerdict(Verdict.INVALID, False, f"Chữ ký số không hợp lệ ({ROLE_LABELS_VI[bad.role]} – "
                               f"{bad.signer or bad.field}): {bad.reasons_vi[0]} Văn bản chỉ có giá trị tham khảo.",
                               missing)
    if not all(s.trusted for s in judged):
        bad = next(s for s in judged if not s.trusted)
        return DocumentVerdict(Verdict.UNTRUSTED, False, f"Chữ ký của {bad.signer or bad.field} còn nguyên vẹn "
                               "nhưng chứng thư số không thuộc tổ chức chứng thực được tin cậy; văn bản chỉ có giá "
                               "trị tham khảo.", missing)
    if missing:
        return DocumentVerdict(Verdict.INCOMPLETE, False, f"Các chữ ký hiện có đều hợp lệ nhưng {missing[0][0].lower()}"
                               f"{missing[0][1:].rstrip('.')}; văn bản chưa đủ giá trị pháp lý.", missing)
    names = ", ".join(s.signer for s in judged if s.signer)
    return DocumentVerdict(Verdict.VALID, True, f"Văn bản có giá trị pháp lý: {len(judged)} chữ ký số hợp lệ và "
                           f"được tin cậy ({names}).", [])


# -- signing on someone's behalf (NĐ 30/2020 Điều 13, Phụ lục I ô 7a) -------------------------------------------

AUTHORITY_FORMS = {"TUQ.": "thừa ủy quyền", "KT.": "ký thay", "TL.": "thừa lệnh"}


@dataclass(frozen=True)
class OnBehalfOf:
    """The leader in whose name a delegate signs, as routing verified the delegation."""

    user_id: str
    full_name: str
    position: str
    form: str = "TUQ."

    def to_dict(self) -> dict[str, str]:
        return {"user_id": self.user_id, "full_name": self.full_name, "position": self.position, "form": self.form}


def parse_on_behalf_of(data: dict | None) -> OnBehalfOf | None:
    """None stays None (the signer signs in their own name); anything else must be complete."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValidationFailed("Thông tin ký thay mặt không hợp lệ.", got=type(data).__name__)
    values = {k: str(data.get(k) or "").strip() for k in ("user_id", "full_name", "position")}
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise ValidationFailed("Thiếu thông tin người ủy quyền (mã, họ tên, chức vụ) để ký thay mặt.",
                               missing=missing)
    form = str(data.get("form") or "TUQ.").strip()
    if not form.endswith("."):
        form += "."
    if form not in AUTHORITY_FORMS:
        raise ValidationFailed("Hình thức ký thay không hợp lệ (TUQ., KT. hoặc TL.).", form=form,
                               allowed=sorted(AUTHORITY_FORMS))
    if any(len(v) > 100 or "\n" in v for v in values.values()):
        raise ValidationFailed("Thông tin người ủy quyền quá dài hoặc nhiều dòng.", **values)
    return OnBehalfOf(form=form, **values)


def vi_upper(text: str) -> str:
    """Upper case as NĐ 30 writes authority and position lines ("TUQ. CHỦ TỊCH"); str.upper keeps diacritics."""
    return " ".join(text.split()).upper()


def authority_line(on_behalf: OnBehalfOf) -> str:
    """Ô 7a: "TUQ. CHỦ TỊCH" (the form, then the position of the leader in whose name the delegate signs)."""
    return f"{on_behalf.form} {vi_upper(on_behalf.position)}"


def signature_text(signer_name: str, signer_position: str, when: str, on_behalf: OnBehalfOf | None) -> str:
    """The text of a personal signature's appearance: under a delegation the NĐ 30 signing line comes first
    (authority line, the signer's own position), then the signer's name and the time."""
    if on_behalf is None:
        return f"{signer_name}\n{when}"
    lines = [authority_line(on_behalf)]
    if signer_position.strip():
        lines.append(vi_upper(signer_position))
    return "\n".join([*lines, signer_name, when])


def signature_reason(reason: str, signer_name: str, signer_position: str, on_behalf: OnBehalfOf | None) -> str:
    """The /Reason of the signature. Under a delegation it says who signs for whom, so the signed file itself
    carries the authority (a verifier sees "TUQ. CHỦ TỊCH … Nguyễn Văn An" without our database)."""
    reason = (reason or "").strip() or "Phê duyệt và ký ban hành"
    if on_behalf is None:
        return reason
    who = f"{signer_position.strip()} {signer_name}".strip()
    return (f"{authority_line(on_behalf)} ({on_behalf.full_name}) – {who} "
            f"{AUTHORITY_FORMS[on_behalf.form]} ký: {reason}")
