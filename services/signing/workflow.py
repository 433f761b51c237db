"""The signing operations of one agency over its blob store and tables; service.py exposes them over RPC.

Kept apart from nameko so that tests, the CLI and the benchmark run the same code without a broker.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from PIL import Image, UnidentifiedImageError
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper

from services.common import agency_rules, clock
from services.common.db import Database
from services.common.errors import NotFound, ValidationFailed
from services.signing import archive, convert, domain, fonts, layout, ltv, pades, placement
from services.signing.enrolment import check_certificate, parse_certificate, same_certificate, warning_text
from services.signing.keys import certificate_of, check_ref, open_signer
from services.signing.models import AppearanceImage, EnrolledCertificate, KeyBinding, Operation
from services.signing.pkcs11 import Pin
from services.signing.pki import find_leader, load_pki, personal_certificates
from services.signing.settings import SigningSettings
from services.signing.verify import trust_store, verify_pdf
from services.storage.blobs import BlobStore, blob_store

MAX_TEXT = 200


def seal_holder(agency_id: str) -> str:
    return f"agency:{agency_id}"


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_TEXT or "\n" in value:
        raise ValidationFailed(f"{what} không hợp lệ (một dòng, tối đa {MAX_TEXT} ký tự).", value=value)
    return value


def signer_name(signer: Signer) -> str:
    subject = signer.signing_cert.subject.native
    return str(subject.get("common_name") or signer.signing_cert.subject.human_friendly)


def signer_title(signer: Signer) -> str:
    """The title (chức vụ) written in the signer's certificate, if any."""
    return str(signer.signing_cert.subject.native.get("title") or "")


def appearance_time(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M:%S") + " (GMT+7)"


class Signing:
    def __init__(self, settings: SigningSettings, database: Database, blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self.agency_id = database.agency_id
        self.db = database
        self.blobs = blobs or blob_store(settings, database.agency_id)

    # ------------------------------------------------------------ helpers

    def _font(self, name: str = fonts.TIMES):
        return fonts.stamp_font(self.settings.font_dir, name)

    def _timestamper(self) -> TimeStamper | None:
        if not self.settings.signing_tsa_url:
            return None
        from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

        return RequestsHTTPTimeStamper(self.settings.signing_tsa_url, timeout=10)

    def _remembered(self, operation: str, input_sha: str, params: Any,
                    operation_id: str | None = None) -> tuple[str, dict | None]:
        """The result of this very operation if it was already done (a retry after a lost reply or a timeout).

        `operation_id` names the business operation ("draft:7:step:2", "outgoing:<id>:seal"): two drafts that
        carry the same file are two operations and get two signatures, each with its own time. Without it (the
        CLI, older callers) the operation is known by its input alone."""
        keyed = [operation, input_sha, params] if operation_id is None else [operation, operation_id, input_sha, params]
        key = hashlib.sha256(json.dumps(keyed, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        with self.db.session() as s:
            row = s.get(Operation, key)
            if row and all(self.blobs.exists(v) for v in _shas(row.result)):
                return key, dict(row.result)
        return key, None

    def _remember(self, key: str, operation: str, input_sha: str, result: dict) -> dict:
        with self.db.session() as s:
            if s.get(Operation, key) is None:
                s.add(Operation(key=key, operation=operation, input_sha256=input_sha, result=result))
        return result

    def _key_ref(self, holder: str, kind: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(KeyBinding, holder)
            if row:
                return dict(row.key_ref)
        if self.settings.signing_key_source == "pkcs11":
            return {"source": "pkcs11", "key_label": holder}
        try:
            pki = load_pki(self.settings.pki_dir)
        except (NotFound, FileNotFoundError):
            pki = None
        if pki is not None:
            if kind == "seal" and self.agency_id in pki.manifest.get("agencies", {}):
                return {"source": "pkcs12", "p12": pki.agency(self.agency_id)["seal"]["p12"]}
            if kind == "personal":
                leader = find_leader(pki, self.agency_id, holder)
                if leader:
                    return {"source": "pkcs12", "p12": leader["p12"]}
        what = "Cơ quan chưa đăng ký khóa ký số con dấu." if kind == "seal" else \
            "Người ký chưa đăng ký chứng thư số / khóa ký số."
        raise NotFound(what, holder=holder, code="no_key")

    def _image(self, holder: str) -> Image.Image | None:
        with self.db.session() as s:
            row = s.get(AppearanceImage, holder)
            sha = row.png_sha256 if row else None
        if not sha:
            return None
        cached = _PNGS.get(sha)  # content-addressed: the same hash is the same image for ever
        if cached is None:
            cached = _PNGS.put(sha, _open_png(self.blobs.read(sha)))
        return cached

    def _pdf(self, sha256: str) -> bytes:
        data = self.blobs.read(sha256)
        if not data.startswith(b"%PDF"):
            raise ValidationFailed("Tệp không phải PDF.", sha256=sha256, code="not_pdf")
        return data

    def _put(self, data: bytes) -> str:
        return self.blobs.put_bytes(data).sha256

    # ------------------------------------------------------------ registration

    def register_certificate(self, holder: str, kind: str, key_ref: dict[str, Any], display_name: str = "") -> dict:
        if kind not in ("personal", "seal"):
            raise ValidationFailed("Loại khóa phải là personal hoặc seal.", kind=kind)
        ref = check_ref(key_ref)
        cert = certificate_of(ref, self.settings)  # refuse a reference without a readable certificate
        if ref["source"] == "pkcs12":
            with open_signer(ref, self.settings):  # and a key file that cannot be opened
                pass
        name = display_name or str(cert.subject.native.get("common_name") or cert.subject.human_friendly)
        with self.db.session() as s:
            row = s.get(KeyBinding, holder)
            if row is None:
                s.add(KeyBinding(holder=holder, kind=kind, key_ref=ref, display_name=name))
            else:
                row.kind, row.key_ref, row.display_name = kind, ref, name
        return {"holder": holder, "kind": kind, "name": name}

    def enrol_certificate(self, holder: str, kind: str, certificate: str | bytes | None = None,
                          key_ref: dict[str, Any] | None = None, enrolled_by: str = "") -> dict:
        """Check a holder's certificate (uploaded, or read from their token through `key_ref`) and bind it: the
        key that signs for the holder must then carry exactly this certificate. With `key_ref` the key is bound
        too (register_certificate)."""
        if kind not in ("personal", "seal"):
            raise ValidationFailed("Loại chứng thư phải là personal (cá nhân) hoặc seal (con dấu cơ quan).", kind=kind)
        if certificate:
            cert = parse_certificate(certificate)
            if key_ref and not same_certificate(certificate_of(key_ref, self.settings), cert):
                raise ValidationFailed("Chứng thư số tải lên khác chứng thư trên thiết bị ký số của người này.",
                                       code="certificate_mismatch", holder=holder)
        elif key_ref:
            cert = certificate_of(key_ref, self.settings)
        else:
            raise ValidationFailed("Hãy chọn tệp chứng thư số (.cer, .pem) hoặc đọc từ thiết bị ký số.",
                                   code="no_certificate")
        now = clock.now_utc()
        checked = check_certificate(cert, trust_store(self.settings), now)
        with self.db.session() as s:
            row = s.get(EnrolledCertificate, holder) or EnrolledCertificate(holder=holder)
            row.kind, row.der, row.subject, row.serial = kind, cert.dump(), checked.subject, checked.serial
            row.not_after, row.trust_root, row.enrolled_by = checked.not_after, checked.trust_root, enrolled_by
            s.merge(row)
        if key_ref:
            self.register_certificate(holder, kind, key_ref, checked.subject)
        return {"holder": holder, "kind": kind, **checked.to_dict(now)}

    def enrolled_certificates(self) -> list[dict]:
        now = clock.now_utc()
        with self.db.session() as s:
            rows = s.query(EnrolledCertificate).order_by(EnrolledCertificate.not_after).all()
            return [{"holder": r.holder, "kind": r.kind, "subject": r.subject, "serial": r.serial,
                     "not_after": r.not_after.isoformat(), "days_left": (_aware(r.not_after) - now).days,
                     "warning_vi": warning_text(_aware(r.not_after), now), "trust_root": r.trust_root,
                     "enrolled_by": r.enrolled_by} for r in rows]

    def _require_enrolled(self, holder: str, signer: Signer) -> None:
        """A holder with an enrolled certificate signs only with a key carrying that very certificate."""
        with self.db.session() as s:
            row = s.get(EnrolledCertificate, holder)
            der = row.der if row else None
        if der is not None and signer.signing_cert.dump() != der:
            raise ValidationFailed("Chứng thư số trên thiết bị ký số không phải chứng thư đã đăng ký cho người ký; "
                                   "quản trị viên cần đăng ký lại chứng thư.", code="certificate_not_enrolled",
                                   holder=holder)

    def personal_certificates(self) -> list[dict]:
        """The personal certificates of this agency in the PKI dir (for an administrator to bind to accounts)."""
        try:
            pki = load_pki(self.settings.pki_dir)
        except (NotFound, FileNotFoundError):
            return []
        return [{"name": p["name"], "title": p.get("title", ""), "username": p["username"],
                 "serial": p.get("serial"), "key_ref": {"source": "pkcs12", "p12": p["p12"]}}
                for p in personal_certificates(pki, self.agency_id)]

    def set_image(self, holder: str, png_sha256: str) -> dict:
        _open_png(self.blobs.read(png_sha256))
        with self.db.session() as s:
            row = s.get(AppearanceImage, holder)
            if row is None:
                s.add(AppearanceImage(holder=holder, png_sha256=png_sha256))
            else:
                row.png_sha256 = png_sha256
        return {"holder": holder, "png_sha256": png_sha256}

    # ------------------------------------------------------------ operations

    def prepare_draft(self, pdf_sha256: str, layout_spec: dict | None = None) -> dict:
        """The fields go where the document's own lines put them (placement.detect), moved by `layout_spec`."""
        layout.resolve_layout(layout_spec)  # a bad override is refused before any work
        seal_position = self.seal_position()
        # placed from the text since issue 20: a file prepared before with fixed places is prepared anew
        key, done = self._remembered("prepare", pdf_sha256, {"layout": layout_spec, "placed": "text",
                                                             "seal": seal_position})
        if done:
            return done
        pdf, result = self._draft_pdf(pdf_sha256)
        found = placement.detect(pdf, seal_position)
        out = pades.prepare(pdf, layout.resolve_layout(layout_spec, found.places))
        return self._remember(key, "prepare", pdf_sha256, {"sha256": self._put(out), **result,
                                                           "placement": found.to_dict()})

    def seal_position(self) -> str:
        """Where this agency's seal signature goes: "signature" (NĐ 30 Phụ lục I, ô 8) or "top_right" (Đà Nẵng
        QĐ 8849/2016 Đ8.1): the agency's rule if its administrator chose one, else the installation's setting."""
        with self.db.session() as s:
            chosen = agency_rules.stored(s, self.agency_id).get("seal_position")
        return chosen if chosen in ("signature", "top_right") else self.settings.signing_seal_position

    def get_rules(self) -> list[dict]:
        with self.db.session() as s:
            rows = agency_rules.read(s, self.agency_id, "signing")
        for row in rows:  # an agency that chose nothing follows the installation's setting
            if row["key"] == "seal_position":
                row["value"] = self.seal_position()
        return rows

    def set_rules(self, changes: dict, user_id: str) -> list[dict]:
        with self.db.session() as s:
            agency_rules.write(s, self.agency_id, "signing", changes, user_id, clock.now_utc())
        return self.get_rules()

    def placement(self, pdf_sha256: str) -> dict:
        """The boxes of a prepared PDF (its fields), or of any PDF as the document's text places them."""
        pdf = self._pdf(pdf_sha256)
        fields = pades.field_places(pdf)
        if not fields:
            return placement.detect(pdf, self.seal_position()).to_dict()
        pages = [pades.page_size(pdf, i) for i in range(pades.page_count(pdf))]
        signed = pades.signed_fields(pdf)
        return {"fields": {name: {"page": p.page, "rect": [round(v, 1) for v in p.rect], "found": True,
                                  "signed": name in signed} for name, p in fields.items()},
                "pages": [{"width": w, "height": h} for w, h in pages], "movable": not signed,
                "seal_position": self.seal_position(), "warnings": []}

    def page_image(self, pdf_sha256: str, page: int, dpi: int = 50) -> dict:
        """PNG of one page (poppler's pdftoppm, as the clerk's viewer renders it) for the placement preview."""
        pdf = self._pdf(pdf_sha256)
        if not 0 <= page < pades.page_count(pdf):
            raise ValidationFailed("Trang không có trong văn bản.", page=page)
        return {"sha256": self._put(placement.render_page(pdf, page, max(20, min(int(dpi), 150))))}

    def move_fields(self, pdf_sha256: str, layout_spec: dict) -> dict:
        """The prepared PDF with boxes moved (drafter or clerk, before anyone signed): a new PDF, same fields."""
        pdf = self._pdf(pdf_sha256)
        current = pades.field_places(pdf)
        places = layout.resolve_layout(layout_spec, current)
        moved = {name: places[name] for name in layout_spec if name in places}
        if layout.SEAL_FIELD not in layout_spec and layout.LEADER_FIELD in layout_spec:
            moved[layout.SEAL_FIELD] = places[layout.SEAL_FIELD]
        pages = pades.page_count(pdf)
        for name, place in moved.items():
            moved[name] = layout.FieldPlace(place.page_index(pages), place.rect)
        return {"sha256": self._put(pades.move_fields(pdf, moved))}

    def _draft_pdf(self, sha256: str) -> tuple[bytes, dict]:
        """The draft as PDF: a PDF as it is, a DOCX/ODT converted with LibreOffice (type read from the bytes)."""
        data = self.blobs.read(sha256)
        kind = convert.detect(data)
        if kind == convert.PDF:
            return data, {}
        if kind is None and convert.looks_like_office(data):
            kind = convert.DOCX  # a ZIP that is neither: report it as a broken document, the likeliest case
        if kind is None:
            raise ValidationFailed("Tệp dự thảo phải là PDF, DOCX hoặc ODT.", sha256=sha256, code="not_pdf")
        pdf = convert.to_pdf(data, kind, timeout=self.settings.signing_convert_timeout)
        return pdf, {"converted_from": kind, "pdf_sha256": self._put(pdf)}

    def sign_leader(self, pdf_sha256: str, signer_user_id: str, reason: str = "",
                    on_behalf_of: dict | None = None, signer_position: str = "",
                    operation_id: str | None = None, pin: Pin | str | None = None, otp: str | None = None) -> dict:
        """The personal signature in the leader's field: the leader's own, or a delegate's with THEIR OWN key
        and the NĐ 30 signing line ("TUQ. CHỦ TỊCH") in the appearance and the reason (service.py checks who).
        `pin`: typed by the signer for their own token, wiped once used (never part of the operation's key)."""
        with _wiped(Pin.of(pin)) as typed:
            return self._sign_leader(pdf_sha256, signer_user_id, reason, on_behalf_of, signer_position,
                                     operation_id, typed, otp)

    def _sign_leader(self, pdf_sha256: str, signer_user_id: str, reason: str, on_behalf_of: dict | None,
                     signer_position: str, operation_id: str | None, pin: Pin | None,
                     otp: str | None = None) -> dict:
        on_behalf = domain.parse_on_behalf_of(on_behalf_of)
        params: list[Any] = [signer_user_id, reason]
        if on_behalf is not None:  # keeps the keys of operations remembered before delegation existed
            params += [on_behalf.to_dict(), signer_position]
        key, done = self._remembered("leader", pdf_sha256, params, operation_id)
        if done:
            return done
        pdf = self._pdf(pdf_sha256)
        with open_signer(self._key_ref(signer_user_id, "personal"), self.settings, pin, otp) as signer:
            self._require_enrolled(signer_user_id, signer)
            name = signer_name(signer)
            position = signer_position or signer_title(signer)
            image = self._image(signer_user_id) or _default_signature(name)
            text = domain.signature_text(name, position, appearance_time(clock.now_vn()), on_behalf)
            out = pades.sign_leader(pdf, signer, pades.Appearance(font=self._font(), image=image, text=text),
                                    reason=domain.signature_reason(reason, name, position, on_behalf),
                                    timestamper=self._timestamper())
        return self._remember(key, "leader", pdf_sha256, {"sha256": self._put(out)})

    def seal_copy(self, pdf_sha256: str, text: str, operation_id: str | None = None,
                  pin: Pin | str | None = None) -> dict:
        """An electronic copy (sao y, sao lục, trích sao; NĐ 30/2020/NĐ-CP Điều 25–27): the copy form's text at the
        top right of page 1, sealed with the agency's key like an issue; `pin` is the seal token's."""
        with _wiped(Pin.of(pin)) as typed:
            text = "\n".join(line.strip() for line in (text or "").strip().splitlines())
            if not text or len(text) > 4 * MAX_TEXT:
                raise ValidationFailed("Thể thức bản sao không hợp lệ.", value=text[:80])
            # The operation (the copy's number, which file) names it, not the text: the text carries the time of
            # the first attempt, and a redelivered request must find that signature, not make a second one.
            key, done = self._remembered("seal_copy", pdf_sha256, [] if operation_id else [text], operation_id)
            if done:
                return done
            pdf = self._pdf(pdf_sha256)
            with open_signer(self._key_ref(seal_holder(self.agency_id), "seal"), self.settings, typed) as signer:
                self._require_enrolled(seal_holder(self.agency_id), signer)
                out = pades.seal_copy(pdf, signer, text, self._font(), timestamper=self._timestamper())
            return self._remember(key, "seal_copy", pdf_sha256, {"sha256": self._put(out)})

    def fill_and_seal(self, pdf_sha256: str, number_text: str, date_text: str, notation: str,
                      appendix_sha256s: list[str] | None = None, operation_id: str | None = None,
                      pin: Pin | str | None = None, paper_signed: bool = False) -> dict:
        """Number and date, then the agency seal; `pin` is the seal token's, typed by the clerk at issue.
        `paper_signed`: the PDF is the scan of an original the leader signed by hand (routing's paper.py, Hưng Yên
        Đ6.3a), with no fields to fill: number, date and time go with the seal at the top right of page 1."""
        with _wiped(Pin.of(pin)) as typed:
            return self._fill_and_seal(pdf_sha256, number_text, date_text, notation, appendix_sha256s,
                                       operation_id, typed, paper_signed)

    def _fill_and_seal(self, pdf_sha256: str, number_text: str, date_text: str, notation: str,
                       appendix_sha256s: list[str] | None, operation_id: str | None, pin: Pin | None,
                       paper_signed: bool = False) -> dict:
        number_text, date_text = _text(number_text, "Số văn bản"), _text(date_text, "Ngày ban hành")
        notation = _text(notation, "Số, ký hiệu")
        appendix_sha256s = list(appendix_sha256s or [])
        params = [number_text, date_text, notation, appendix_sha256s, *(["paper"] if paper_signed else [])]
        key, done = self._remembered("fill_and_seal", pdf_sha256, params, operation_id)
        if done:
            return done
        pdf = self._pdf(pdf_sha256)
        if not paper_signed and layout.LEADER_FIELD not in pades.signed_fields(pdf):
            raise ValidationFailed("Văn bản chưa có chữ ký của người có thẩm quyền; chưa thể cấp số và đóng dấu.",
                                   code="not_signed_by_leader")
        appendices = [self._pdf(sha) for sha in appendix_sha256s]
        filled = pdf if paper_signed else pades.fill_fields(
            pdf, {layout.NUMBER_FIELD: number_text, layout.DATE_FIELD: date_text}, self._font())
        stamper = self._timestamper()
        with open_signer(self._key_ref(seal_holder(self.agency_id), "seal"), self.settings, pin) as signer:
            self._require_enrolled(seal_holder(self.agency_id), signer)
            image = self._image(seal_holder(self.agency_id)) or _default_seal(signer_name(signer))
            text = f"{notation}\n{clock.now_vn().isoformat(timespec='seconds')}"
            if paper_signed:
                sealed = pades.seal_scan(filled, signer, f"{number_text}\n{date_text}\n{text}", self._font(),
                                         timestamper=stamper)
            else:
                sealed = pades.seal(filled, signer, image, timestamper=stamper, text=text, font=self._font())
            sealed_appendices = [pades.seal_appendix(a, signer, text, self._font(), timestamper=stamper)
                                 for a in appendices]
        if stamper is not None:  # PAdES B-LT + B-LTA: verifiable after the certificates and CRL servers are gone
            store = trust_store(self.settings)
            sealed = ltv.extend(sealed, store, stamper)
            sealed_appendices = [ltv.extend(a, store, stamper) for a in sealed_appendices]
        result = {"sha256": self._put(sealed), "appendices": [self._put(a) for a in sealed_appendices]}
        if stamper is not None:
            archive.record(self.db, [sealed, *sealed_appendices], result)
        return self._remember(key, "fill_and_seal", pdf_sha256, result)

    def refresh_archive(self, within_days: int = 365, timestamper: TimeStamper | None = None) -> dict:
        """congvan archive refresh: a new time stamp on every issued PDF whose last one expires within the window."""
        stamper = timestamper or self._timestamper()
        if stamper is None:
            raise ValidationFailed("Chưa cấu hình máy chủ cấp dấu thời gian (SIGNING_TSA_URL); không thể gia hạn "
                                   "chữ ký số lưu trữ.", code="no_tsa")
        return archive.refresh(self.db, self.blobs, trust_store(self.settings), stamper,
                               within=timedelta(days=within_days))

    def verify_long_term(self, pdf_sha256: str, at: datetime | None = None) -> list[dict]:
        """Whether each signature was valid when signed, judged at `at` (default now) from the PDF alone."""
        pdf = self._pdf(archive.current(self.db, pdf_sha256))
        return [r.to_dict() for r in ltv.validate(pdf, trust_store(self.settings), at or clock.now_utc())]

    def verify(self, pdf_sha256: str) -> dict:
        """Today's check; where it fails on a document with archive time stamps (B-LTA), the long-term one decides
        for the signatures it proves valid when signed (their certificates may have expired long ago)."""
        pdf, store = self._pdf(pdf_sha256), trust_store(self.settings)
        report = verify_pdf(pdf, store)
        long_term: list[dict] = []
        if not report["legally_valid"] and ltv.last_timestamp_expiry(pdf) is not None:
            long_term = self.verify_long_term(pdf_sha256)
            proven = {r["field"]: r["best_signature_time"] for r in long_term if r["valid_when_signed"]}
            if proven:
                report = verify_pdf(pdf, store, proven)
        report["sha256"], report["long_term"] = pdf_sha256, long_term
        return report


class _Lru:
    """A small thread-safe LRU of decoded images (PIL images are only read after decoding)."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str) -> Image.Image | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: str, value: Image.Image) -> Image.Image:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_PNGS = _Lru(64)


@lru_cache(maxsize=64)
def _default_signature(name: str) -> Image.Image:
    """The generated blue signature of a name (drawn once per name and process, not on every signature)."""
    return layout.default_signature_image(name, fonts.system_font(fonts.SERIF_ITALIC))


@lru_cache(maxsize=16)
def _default_seal(agency_name: str) -> Image.Image:
    return layout.default_seal_image(agency_name, fonts.system_font(fonts.SERIF_BOLD))


@contextmanager
def _wiped(pin: Pin | None) -> Iterator[Pin | None]:
    """The PIN is zeroed whatever happens: signed, refused, or a remembered operation that did not need it."""
    try:
        yield pin
    finally:
        if pin is not None:
            pin.wipe()


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shas(result: dict) -> list[str]:
    return [result["sha256"], *result.get("appendices", [])]


def _open_png(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationFailed("Ảnh chữ ký/con dấu phải là tệp PNG hợp lệ.", error=str(exc)) from exc
    if image.format != "PNG":
        raise ValidationFailed("Ảnh chữ ký/con dấu phải là tệp PNG (nền trong suốt).", format=image.format)
    return image.convert("RGBA")
