"""PAdES with pyHanko: prepare a draft, sign as the leader, fill number and date, seal, seal appendices.

Every step is one incremental update of the previous bytes, so earlier signatures stay valid:
  1. prepare   (unsigned revision) empty text fields `so_van_ban`, `ngay_ban_hanh` and signature fields
               `LanhDao`, `DauCoQuan`: they must exist BEFORE the first signature, because drawing into the
               page after the leader signed breaks the leader's signature (notes/feasibility.md §4, pitfall 4);
  2. leader    certifying PAdES signature, DocMDP P=2 (form filling and signing allowed afterwards);
  3. fill      the clerk's number and date as field values with appearances (a FORM_FILLING change);
  4. seal      the agency's approval signature in `DauCoQuan`.
Appendices in separate files get one seal signature in a new field at the top right of page 1.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import StaticStampStyle, TextStamp, TextStampStyle

from services.common.errors import Conflict, ValidationFailed
from services.signing.layout import (
    APPENDIX_FIELD,
    COPY_FIELD,
    LEADER_FIELD,
    SEAL_FIELD,
    TEXT_FIELDS,
    FieldPlace,
    Rect,
    appendix_rect,
)

TEXT_FLAG_READ_ONLY = 1  # people must not type into the number/date fields in a viewer; only the clerk's step


@dataclass(frozen=True)
class Appearance:
    """What a visible signature shows. `font` is a 1000-units-per-em TTF (fonts.stamp_font)."""

    font: Path
    image: Image.Image | None = None
    text: str = ""
    font_size: int = 7


def _reader(pdf: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise ValidationFailed("Tệp không phải PDF hợp lệ.", error=str(exc)) from exc


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise ValidationFailed("Tệp không phải PDF hợp lệ.", error=str(exc)) from exc


def _out(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_count(pdf: bytes) -> int:
    return int(_reader(pdf).root["/Pages"]["/Count"])


def page_size(pdf: bytes, index: int) -> tuple[float, float]:
    reader = _reader(pdf)
    page = reader.find_page_for_modification(index)[0].get_object()
    media = page.get("/MediaBox") or reader.root["/Pages"].get("/MediaBox") or [0, 0, 595.28, 841.89]
    return float(media[2]) - float(media[0]), float(media[3]) - float(media[1])


def _form_fields(pdf: bytes) -> list:
    """The AcroForm's field dictionaries (none when the PDF has no form)."""
    root = _reader(pdf).root
    if "/AcroForm" not in root:
        return []
    return [ref.get_object() for ref in root["/AcroForm"].get("/Fields", [])]


def field_names(pdf: bytes) -> dict[str, str]:
    """Terminal AcroForm fields: name → /FT (/Sig, /Tx, ...)."""
    return {str(fld.get("/T")): str(fld.get("/FT")) for fld in _form_fields(pdf)}


def signed_fields(pdf: bytes) -> list[str]:
    return [name for name, sig, _ in fields.enumerate_sig_fields(_reader(pdf), filled_status=True)]


def _xywh(rect: Rect) -> tuple[int, int, int, int]:
    return tuple(round(v) for v in rect)  # type: ignore[return-value]


# ---------------------------------------------------------------- 1. prepare


def prepare(pdf: bytes, places: dict[str, FieldPlace]) -> bytes:
    """Add the empty fields at `places`. Fields that already exist are kept as they are."""
    if signed_fields(pdf):
        raise Conflict("Văn bản đã có chữ ký số; không thể chuẩn bị lại các trường ký.")
    existing = field_names(pdf)
    pages = page_count(pdf)
    writer = _writer(pdf)
    for name in (LEADER_FIELD, SEAL_FIELD):
        if name not in existing:
            place = places[name]
            fields.append_signature_field(writer, SigFieldSpec(
                sig_field_name=name, on_page=place.page_index(pages), box=_xywh(place.rect)))
    for name in TEXT_FIELDS:
        if name not in existing:
            _add_text_field(writer, name, places[name], pages)
    return _out(writer)


def _add_text_field(writer: IncrementalPdfFileWriter, name: str, place: FieldPlace, pages: int) -> None:
    page_ref = writer.find_page_for_modification(place.page_index(pages))[0]
    field = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/Widget"),
        pdf_name("/FT"): pdf_name("/Tx"),
        pdf_name("/T"): pdf_string(name),
        pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in place.rect),
        pdf_name("/F"): generic.NumberObject(4),  # printable
        pdf_name("/Ff"): generic.NumberObject(TEXT_FLAG_READ_ONLY),
        pdf_name("/DA"): pdf_string("/Helv 0 Tf 0 g"),
        pdf_name("/P"): page_ref,
    })
    ref = writer.add_object(field)
    page = page_ref.get_object()
    annots = page.get("/Annots")
    if annots is None:
        page[pdf_name("/Annots")] = generic.ArrayObject([ref])
    else:
        annots.get_object().append(ref)
        if isinstance(annots, generic.IndirectObject):
            writer.update_container(annots.get_object())
    writer.update_container(page)
    form = writer.root["/AcroForm"]
    form["/Fields"].append(ref)
    writer.update_container(form)


# ---------------------------------------------------------------- 2–4. sign, fill, seal


def _text_style(font: Path, size: int) -> TextBoxStyle:
    # Same size in both places, or multi-line stamps drift to the right (pyHanko issue #733).
    return TextBoxStyle(font=GlyphAccumulatorFactory(str(font), font_size=size), font_size=size)


def _lines(text: str) -> int:
    return max(2, len(text.splitlines()))  # the image keeps the room above the text (a delegate's has 4 lines)


def leader_style(appearance: Appearance) -> TextStampStyle:
    """Signature image centred in the upper part, the signer's name and the time underneath."""
    return TextStampStyle(
        stamp_text=appearance.text,
        text_box_style=_text_style(appearance.font, appearance.font_size),
        border_width=0,
        background=CachedPdfImage(appearance.image) if appearance.image is not None else None,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(left=2, right=2, top=1, bottom=_lines(appearance.text) * appearance.font_size + 6),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins(bottom=1), inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT),
    )


@dataclass(frozen=True)
class _EncodedImage:
    width: int
    height: int
    colour_space: str      # /DeviceRGB or /DeviceGray
    data: bytes            # Flate-compressed samples
    alpha: bytes | None    # Flate-compressed soft mask, if the image has transparency


_ENCODED: OrderedDict[str, _EncodedImage] = OrderedDict()
_ENCODED_MAX = 32
_encoded_lock = threading.Lock()


def _encode(image: Image.Image) -> _EncodedImage:
    """Deflate an image's samples once per content (SHA-256 of mode, size and pixels) and keep the result: the
    same signature and seal images come back on every signature, and deflating them in Python was most of a
    visible signature's extra cost (docs/performance.md)."""
    key = hashlib.sha256(f"{image.mode}{image.size}".encode() + image.tobytes()).hexdigest()
    with _encoded_lock:
        found = _ENCODED.get(key)
        if found is not None:
            _ENCODED.move_to_end(key)
            return found
    alpha = None
    if image.mode in ("RGBA", "LA", "PA"):
        alpha = zlib.compress(image.getchannel("A").tobytes())
        image = image.convert("L" if image.mode == "LA" else "RGB")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    encoded = _EncodedImage(image.width, image.height, "/DeviceGray" if image.mode == "L" else "/DeviceRGB",
                            zlib.compress(image.tobytes()), alpha)
    with _encoded_lock:
        _ENCODED[key] = encoded
        while len(_ENCODED) > _ENCODED_MAX:
            _ENCODED.popitem(last=False)
    return encoded


def _image_stream(width: int, height: int, colour_space: str, data: bytes) -> generic.StreamObject:
    return generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Image"),
        pdf_name("/Width"): generic.NumberObject(width), pdf_name("/Height"): generic.NumberObject(height),
        pdf_name("/ColorSpace"): pdf_name(colour_space), pdf_name("/BitsPerComponent"): generic.NumberObject(8),
        pdf_name("/Filter"): pdf_name("/FlateDecode")}, encoded_data=data)


class CachedPdfImage(PdfImage):
    """pyHanko's PdfImage, but the image XObject is written from the cached compressed samples (_encode)."""

    @property
    def image_ref(self) -> generic.IndirectObject:
        assert self.writer is not None
        ref = self._image_ref
        if ref is None or ref.get_pdf_handler() is not self.writer:
            enc = _encode(self.image)
            stream = _image_stream(enc.width, enc.height, enc.colour_space, enc.data)
            if enc.alpha is not None:
                stream[pdf_name("/SMask")] = self.writer.add_object(
                    _image_stream(enc.width, enc.height, "/DeviceGray", enc.alpha))
            self._image_ref = ref = self.writer.add_object(stream)
        return ref


def seal_style(image: Image.Image) -> StaticStampStyle:
    return StaticStampStyle(
        background=CachedPdfImage(image), background_opacity=1.0, border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT))


def text_only_style(font: Path, text: str, size: int = 10) -> TextStampStyle:
    """Appendix seal (NĐ 30 Phụ lục I): no image, number/notation and time, 10 pt, upright, black."""
    return TextStampStyle(stamp_text=text, text_box_style=_text_style(font, size), border_width=0,
                          inner_content_layout=layout.SimpleBoxLayoutRule(
                              x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
                              inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT))


def _require_empty_sig_field(pdf: bytes, name: str) -> None:
    kinds = field_names(pdf)
    if kinds.get(name) != "/Sig":
        raise ValidationFailed("Văn bản chưa được chuẩn bị trường ký số (thiếu trường "
                               f"{name}).", field=name, code="not_prepared")
    if name in signed_fields(pdf):
        raise Conflict("Trường ký này đã được ký.", field=name)


def sign(pdf: bytes, signer: Signer, field: str, *, style=None, certify: bool = False, reason: str = "",
         location: str = "", timestamper: TimeStamper | None = None, new_field: Rect | None = None,
         page: int = 0) -> bytes:
    """One PAdES signature (B-B, or B-T with a timestamper) in `field` as an incremental update."""
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256", certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS, reason=reason or None, location=location or None)
    spec = SigFieldSpec(sig_field_name=field, on_page=page, box=_xywh(new_field)) if new_field else None
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper, stamp_style=style,
                                   new_field_spec=spec)
    out = io.BytesIO()
    pdf_signer.sign_pdf(_writer(pdf), output=out)
    return out.getvalue()


def sign_leader(pdf: bytes, signer: Signer, appearance: Appearance, *, reason: str = "",
                timestamper: TimeStamper | None = None) -> bytes:
    _require_empty_sig_field(pdf, LEADER_FIELD)
    if signed_fields(pdf):
        raise Conflict("Văn bản đã có chữ ký khác; chữ ký của lãnh đạo phải là chữ ký đầu tiên.")
    return sign(pdf, signer, LEADER_FIELD, style=leader_style(appearance), certify=True,
                reason=reason or "Phê duyệt và ký ban hành", timestamper=timestamper)


def fill_fields(pdf: bytes, values: dict[str, str], font: Path, font_size: int = 13) -> bytes:
    """Set value and appearance of the prepared text fields in one incremental update (FORM_FILLING)."""
    writer = _writer(pdf)
    form = writer.root.get("/AcroForm")  # an indirect reference: resolve it
    form = form.get_object() if form is not None else None
    found = set()
    for ref in (form["/Fields"] if form is not None and "/Fields" in form else []):
        fld = ref.get_object()
        name = str(fld.get("/T"))
        if name not in values:
            continue
        found.add(name)
        x1, y1, x2, y2 = (float(v) for v in fld["/Rect"])
        # drawn on white: a field read from the document covers the draft's placeholder ("Số:      /QĐ-UBND")
        style = TextStampStyle(stamp_text=values[name], border_width=0, background=_white(x2 - x1, y2 - y1),
                               background_opacity=1.0, background_layout=_FILL,
                               text_box_style=TextBoxStyle(  # no padding: 13 pt in an 18 pt line box stays 13 pt
                                   font=GlyphAccumulatorFactory(str(font), font_size=font_size),
                                   font_size=font_size, box_layout_rule=_TIGHT),
                               inner_content_layout=layout.SimpleBoxLayoutRule(
                                   x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
                                   inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT))
        stamp = TextStamp(writer, style, box=layout.BoxConstraints(width=x2 - x1, height=y2 - y1))
        fld[pdf_name("/AP")] = stamp.as_appearances().as_pdf_object()
        fld[pdf_name("/V")] = pdf_string(values[name])
        writer.update_container(fld)
    missing = set(values) - found
    if missing:
        raise ValidationFailed("Văn bản thiếu trường số/ngày đã chuẩn bị trước khi ký.", fields=sorted(missing),
                               code="not_prepared")
    return _out(writer)


_FILL = layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
                                   margins=layout.Margins.uniform(0),
                                   inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT)
_TIGHT = layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
                                    margins=layout.Margins.uniform(0))


def _white(width: float, height: float) -> RawContent:
    return RawContent(f"1 g 0 0 {width:.2f} {height:.2f} re f".encode(),
                      box=layout.BoxConstraints(width=width, height=height))


def field_places(pdf: bytes) -> dict[str, FieldPlace]:
    """Where the prepared fields are: name → page index and /Rect of its widget (found in the pages' /Annots)."""
    reader = _reader(pdf)
    on_page: dict[int, int] = {}
    for index in range(page_count(pdf)):
        page = reader.find_page_for_modification(index)[0].get_object()
        for annot in page.get("/Annots") or []:
            if isinstance(annot, generic.IndirectObject):
                on_page[annot.idnum] = index
    out = {}
    for ref in (reader.root["/AcroForm"].get("/Fields", []) if "/AcroForm" in reader.root else []):
        fld = ref.get_object()
        if "/Rect" in fld and ref.idnum in on_page:
            out[str(fld["/T"])] = FieldPlace(on_page[ref.idnum], tuple(float(v) for v in fld["/Rect"]))
    return out


def move_fields(pdf: bytes, places: dict[str, FieldPlace]) -> bytes:
    """Move prepared fields (new /Rect, same page) in one incremental update; only before anyone signed, since a
    moved widget after a certification is a change DocMDP forbids."""
    if signed_fields(pdf):
        raise Conflict("Văn bản đã được ký số; không thể di chuyển vị trí số, ngày, chữ ký, con dấu nữa "
                       "(sẽ làm mất hiệu lực chữ ký).", code="already_signed")
    current = field_places(pdf)
    for name, place in places.items():
        if name not in current:
            raise ValidationFailed("Văn bản chưa có trường này.", field=name, code="not_prepared")
        if place.page != current[name].page:
            raise ValidationFailed("Chỉ có thể di chuyển ô trong cùng trang.", field=name)
    writer = _writer(pdf)
    form = writer.root["/AcroForm"].get_object()
    for ref in form["/Fields"]:
        fld = ref.get_object()
        name = str(fld.get("/T"))
        if name in places:
            fld[pdf_name("/Rect")] = generic.ArrayObject(generic.FloatObject(round(v, 2)) for v in places[name].rect)
            writer.update_container(fld)
    return _out(writer)


def field_values(pdf: bytes) -> dict[str, str]:
    return {str(fld["/T"]): str(fld["/V"]) for fld in _form_fields(pdf) if fld.get("/FT") == "/Tx" and "/V" in fld}


SEAL_IMAGE_MIN_HEIGHT = 50.0  # points: a seal box lower than this is the text form (top right, NĐ 30 ô 14 style)


def seal(pdf: bytes, signer: Signer, image: Image.Image, *, timestamper: TimeStamper | None = None,
         reason: str = "", text: str = "", font: Path | None = None) -> bytes:
    """The agency's seal signature: the red seal image (ô 8), or, in a box too low for it (an agency rule that
    puts the seal at the top right of page 1, Đà Nẵng QĐ 8849/2016 Đ8.1), `text` without an image."""
    _require_empty_sig_field(pdf, SEAL_FIELD)
    place = field_places(pdf).get(SEAL_FIELD)
    style = seal_style(image)
    if place is not None and place.rect[3] - place.rect[1] < SEAL_IMAGE_MIN_HEIGHT and text and font is not None:
        style = text_only_style(font, text)
    return sign(pdf, signer, SEAL_FIELD, style=style, reason=reason or "Ban hành văn bản",
                timestamper=timestamper)


def flattened(pdf: bytes) -> bytes:
    """The pages as they look, signatures' and fields' appearances drawn into the page content and the form
    removed: the copy is a new document whose legal value is the copying agency's seal (NĐ 30 Điều 25.2), and a
    signature added over the original's certification (DocMDP) would break it."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.flatten_annotations("all")
        if "/AcroForm" in doc.Root:
            del doc.Root["/AcroForm"]
        if "/Perms" in doc.Root:
            del doc.Root["/Perms"]
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def seal_copy(pdf: bytes, signer: Signer, text: str, font: Path, *,
              timestamper: TimeStamper | None = None) -> bytes:
    """An electronic copy's form (NĐ 30/2020/NĐ-CP Phụ lục I, Phần II mục II: hình thức sao, tên cơ quan, số và ký
    hiệu bản sao, thời gian ký; góc trên bên phải trang đầu, cỡ chữ 10) with the agency's seal signature, added to
    the copied PDF as an incremental update (its own signatures stay as they were)."""
    if COPY_FIELD in field_names(pdf):
        raise Conflict("Văn bản này đã là bản sao được ký số.", field=COPY_FIELD)
    pdf = flattened(pdf)
    width, height = page_size(pdf, 0)
    return sign(pdf, signer, COPY_FIELD, style=text_only_style(font, text), reason="Sao văn bản",
                timestamper=timestamper, new_field=appendix_rect(width, height), page=0)


def seal_scan(pdf: bytes, signer: Signer, text: str, font: Path, *,
              timestamper: TimeStamper | None = None) -> bytes:
    """The agency's seal on the scan of a paper original signed by hand (Hưng Yên Đ6.3a "Chuyển phát hành"; NĐ 30
    Phụ lục I, chữ ký số của cơ quan trên bản số hóa: góc trên bên phải trang đầu): the number, date and time as
    text, no image: the handwritten signature and any red seal are already in the scanned page."""
    if SEAL_FIELD in field_names(pdf):
        raise Conflict("Bản scan đã có chữ ký số của cơ quan.", field=SEAL_FIELD)
    width, height = page_size(pdf, 0)
    return sign(pdf, signer, SEAL_FIELD, style=text_only_style(font, text), reason="Ban hành văn bản (bản scan "
                "văn bản giấy lãnh đạo đã ký)", timestamper=timestamper, new_field=appendix_rect(width, height),
                page=0)


def seal_appendix(pdf: bytes, signer: Signer, text: str, font: Path, *,
                  timestamper: TimeStamper | None = None) -> bytes:
    if APPENDIX_FIELD in field_names(pdf):
        raise Conflict("Phụ lục đã được ký số.", field=APPENDIX_FIELD)
    width, height = page_size(pdf, 0)
    return sign(pdf, signer, APPENDIX_FIELD, style=text_only_style(font, text), reason="Ban hành phụ lục",
                timestamper=timestamper, new_field=appendix_rect(width, height), page=0)
