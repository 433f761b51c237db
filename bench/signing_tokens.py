"""Rows of bench/signing.py for personal tokens (issue 20): a signature through the product's PKCS#11 path with the
PIN typed at signing (Pin, rescan guard, login, wipe; keys.open_signer) against a raw pyHanko PKCS#11 signature
(open_pkcs11_session + PKCS11Signer + PdfSigner), both logging in once per signature on the same SoftHSM2 token
and signing the same prepared PDF without appearance. Goal: ≤ 1.3× raw."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from services.signing import pades, pki
from services.signing.keys import open_signer
from services.signing.pkcs11 import Pin, provision_issued, softhsm_conf
from services.signing.settings import SigningSettings

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def token_rows(tmp: Path, made: pki.Pki, settings: SigningSettings, prepared: bytes, runs: int,
               median_ms: Callable[..., tuple[float, object]]) -> list[tuple[str, float, str]]:
    """[(row name, median wall ms, CPU key)], ready for bench/signing.py's table; empty without SoftHSM2."""
    if not Path(MODULE).exists():
        return []
    os.environ["SOFTHSM2_CONF"] = str(softhsm_conf(tmp / "softhsm" / "tokens"))
    pin = secrets.token_hex(4)
    issued = pki.issue_signer(made, "Nguyễn Văn Thẻ", org="Ủy ban nhân dân tỉnh Tuyên Quang", title="Chủ tịch")
    ref = provision_issued(MODULE, "bench.leader", issued, pin)
    settings.signing_pkcs11_module = MODULE

    def raw() -> bytes:
        meta = signers.PdfSignatureMetadata(field_name="Raw", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256")
        with open_pkcs11_session(MODULE, token_criteria=TokenCriteria(label=ref["token_label"]),
                                 user_pin=pin) as session:
            signer = PKCS11Signer(session, key_label=ref["key_label"], cert_label=ref["cert_label"])
            out = io.BytesIO()
            signers.PdfSigner(meta, signer=signer, new_field_spec=SigFieldSpec("Raw")).sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(prepared)), output=out)
            return out.getvalue()

    def with_pin() -> bytes:
        with open_signer(ref, settings, Pin(pin)) as signer:
            return pades.sign(prepared, signer, "Raw")  # an invisible new field, as the raw one

    raw_ms, _ = median_ms(raw, runs, "p11raw")
    pin_ms, _ = median_ms(with_pin, runs, "p11pin")
    return [("raw pyHanko PKCS#11 signature (token)", raw_ms, "p11raw"),
            ("PKCS#11 signature with the typed PIN", pin_ms, "p11pin")]
