"""A stand-in nameko service named `signing`, for the RPC boundary only (the real one is services/signing)."""

from __future__ import annotations

import hashlib

from nameko.rpc import rpc


class SigningStandIn:
    name = "signing"

    @rpc
    def fill_and_seal(self, pdf_sha256, number_text, date_text, notation, appendices, operation_id=None):
        digest = hashlib.sha256(f"{pdf_sha256}|{number_text}|{date_text}|{notation}".encode()).hexdigest()
        return {"sha256": digest, "appendices": [hashlib.sha256(a.encode()).hexdigest() for a in appendices]}

    @rpc
    def seal_copy(self, pdf_sha256, text, operation_id=None, pin=None):
        # the copy form stamped and sealed (services/signing): a new file per source file and copy form
        return {"sha256": hashlib.sha256(f"{pdf_sha256}|{text}".encode()).hexdigest()}

    @rpc
    def verify(self, pdf_sha256):
        # signing's report on a document with the leader's signature and the seal (docs/signing.md)
        return {"verdict": "valid", "legally_valid": True, "summary_vi": "Văn bản có giá trị pháp lý.",
                "signatures": [{"role": "leader", "valid": True}, {"role": "seal", "valid": True}]}
