"""What real receivers expect of a package we send (issue 17, item 6), beside the codec in edxml.py.

Public vendor parsers (VNPT/VPCP's EdXML102 parser, Bkav's provincial hub, a VNPT gateway) were run on
packages this product emitted. What they tripped on, and what this module gives the builder:
- every real sample carries a `Signature` element in edXMLHeader, "even a placeholder" (STANDARDS §1.7): the
  legal signatures are the PAdES signatures inside the attached PDF, the envelope one is transport-level and
  optional, so we send the samples' XML-DSig skeleton with the sender named and no value;
- attachment names on the wire follow Tuyên Quang QĐ 51/2024/QĐ-UBND Điều 7 khoản 4: "Tên tệp tin (file)
  đính kèm ... gồm các ký tự, số, có độ dài không quá 50 ký tự (Tên file không được sử dụng tên tiếng Việt có
  dấu và các ký tự đặc biệt)".
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_WIRE_NAME = 50          # Tuyên Quang Đ7.4
MAX_EXTENSION = 10
FALLBACK_STEM = "TepDinhKem"

_WORD = re.compile(r"[A-Za-z0-9]+")


def ascii_letters(text: str) -> str:
    """`text` without Vietnamese diacritics (đ → d), everything else kept for the caller to filter."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def wire_name(name: str, taken: set[str] | None = None) -> str:
    """The attachment name to put on the wire: letters and digits only (words joined in CamelCase so the name
    stays readable), the extension kept after one dot, at most 50 characters, and unique within the package
    (`taken`, case-insensitive, is updated)."""
    taken = taken if taken is not None else set()
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    extension = "".join(_WORD.findall(ascii_letters(extension))).lower()[:MAX_EXTENSION]
    words = _WORD.findall(ascii_letters(stem))
    stem = "".join(w[:1].upper() + w[1:] for w in words) or FALLBACK_STEM
    suffix = f".{extension}" if extension else ""
    stem = stem[:MAX_WIRE_NAME - len(suffix)]
    candidate, number = stem + suffix, 1
    while candidate.lower() in taken:
        number += 1
        tail = str(number)
        candidate = stem[:MAX_WIRE_NAME - len(suffix) - len(tail)] + tail + suffix
    taken.add(candidate.lower())
    return candidate


def signature_placeholder(organ_id: str) -> tuple[str, list[Any]]:
    """The `Signature` node of edXMLHeader as the national axis's samples shape it (STANDARDS §1.7), naming
    the sending agency and carrying no value: a receiver that reads the element finds it, and none can take
    it for a signature of the content (that is the PDF's)."""
    algorithm = 'Algorithm="{}"'.format
    return ("Signature", [
        ("SignedInfo", [
            (f"CanonicalizationMethod {algorithm('http://www.w3.org/TR/2001/REC-xml-c14n-20010315')}", []),
            (f"SignatureMethod {algorithm('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}", []),
            ('Reference URI=""', [
                ("Transforms", [
                    (f"Transform {algorithm('http://www.w3.org/2000/09/xmldsig#enveloped-signature')}", []),
                    (f"Transform {algorithm('http://www.w3.org/TR/xml-exc-c14n#')}", []),
                ]),
                (f"DigestMethod {algorithm('http://www.w3.org/2000/09/xmldsig#sha1')}", []),
                ("DigestValue", ""),
            ]),
        ]),
        ("SignatureValue", ""),
        ("KeyInfo", [("X509Data", [("X509SubjectName", f"CN={organ_id}"), ("X509Certificate", "")])]),
    ])
