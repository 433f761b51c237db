"""Settings of the signing service (environment variables; documented in docs/signing.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from services.common.settings import CommonSettings


class SigningSettings(CommonSettings):
    signing_pki_dir: Path | None = Field(None, description="Test/demo PKI made by `congvan pki init`; "
                                                          "default DATA_DIR/pki")
    signing_trust_roots: list[Path] = Field(default_factory=list, description="PEM/DER roots to trust; default: "
                                                                             "the PKI dir's root.pem")
    signing_trust_store: Literal["demo", "production"] = Field(
        "demo", description="production: only roots whose SHA-256 matches a pin of STANDARDS.md §7")
    signing_crls: list[Path] = Field(default_factory=list, description="Extra CRL files (offline revocation)")
    signing_revocation_mode: Literal["soft-fail", "hard-fail", "require"] = "soft-fail"
    signing_allow_fetching: bool = Field(False, description="Fetch CRL/OCSP over the network while verifying")
    signing_tsa_url: str | None = Field(None, description="RFC 3161 TSA; set means PAdES B-T, unset B-B")
    signing_key_source: Literal["pkcs12", "pkcs11"] = "pkcs12"
    signing_pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    signing_pkcs11_token_label: str = ""
    signing_seal_position: Literal["signature", "top_right"] = Field(
        "signature", description="Seal signature over the left third of the leader's (NĐ 30 Phụ lục I) or at the "
                                 "top right of page 1 (an agency rule, e.g. Đà Nẵng QĐ 8849/2016 Đ8.1)")
    signing_convert_timeout: float = Field(120, description="Seconds a DOCX/ODT → PDF conversion may take")
    signing_pkcs11_pin: SecretStr = Field(SecretStr(""), description="PIN of the server-held token (test only)")
    signing_csc_token: SecretStr = Field(SecretStr(""), description="Bearer token of the installation at the remote "
                                         "signing provider (Cloud Signature Consortium API v2; csc.py)")
    signing_server_held_keys: bool = Field(
        True, description="TEST INSTALLATIONS ONLY: keys the server can use without the signer's PIN (PKCS#12 "
        "files, or a token whose PIN is SIGNING_PKCS11_PIN). Every page then shows a banner saying so. Set false "
        "in production: every key is then on its holder's token and signs only with the PIN typed at signing.")

    @property
    def pki_dir(self) -> Path:
        return Path(self.signing_pki_dir or Path(self.data_dir) / "pki")

    @property
    def font_dir(self) -> Path:
        return Path(self.data_dir) / "fonts"


def signing_settings_from_config(config: dict[str, Any]) -> SigningSettings:
    """nameko's config dict (upper-case keys) over the environment."""
    keys = {k.lower(): v for k, v in config.items() if isinstance(k, str)}
    fields = SigningSettings.model_fields
    return SigningSettings(**{k: v for k, v in keys.items() if k in fields and v is not None})
