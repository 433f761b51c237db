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
    def verify(self, pdf_sha256):
        return {"valid": True, "signatures": [{"role": "ORGANISATION", "valid": True}]}
