"""nameko entrypoints of the signing service: thin wrappers over workflow.Signing with role checks.

    prepare_draft(pdf_sha256, layout=None)                        -> {"sha256", "placement", ...}
    placement(pdf_sha256)                                         -> boxes of the fields, pages, movable
    move_fields(pdf_sha256, layout)                               -> {"sha256"} (before anyone signed)
    sign_leader(pdf_sha256, signer_user_id, reason="", on_behalf_of=None, signer_position="", operation_id=None,
                pin=None)                                         -> {"sha256"}
    fill_and_seal(pdf_sha256, number_text, date_text, notation, appendix_sha256s=[], operation_id=None, pin=None)
                                                                  -> {"sha256", "appendices"}
`pin` is typed by the signer (the leader for their own token, the clerk for the seal's) at that moment; it is
used once and wiped, never stored or logged (pkcs11.Pin; docs/signing.md "PINs").
`operation_id` names the business operation (draft and step, document and seal): a retry of it returns what it
made, and another operation on the same file is signed anew (workflow.Signing._remembered).
    verify(pdf_sha256)                                            -> report (docs/signing.md)
    set_signature_image(user_id, png_sha256), set_seal_image(png_sha256)
    register_certificate(holder, kind, key_ref, display_name="")
    enrol_certificate(holder, kind, certificate=None, key_ref=None) -> checked certificate (enrolment.py)
    enrolled_certificates()                                       -> [{holder, subject, days_left, warning_vi...}]
    health()
All PDFs and images are addressed by SHA-256 in the agency's blob store.
"""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from services.common.actor import Role
from services.common.errors import Forbidden
from services.common.rpc import ActingUser, DatabaseProvider, RpcMetrics
from services.signing import models
from services.signing.certificates import export_expiry
from services.signing.domain import parse_on_behalf_of
from services.signing.pkcs11 import Pin
from services.signing.settings import signing_settings_from_config
from services.signing.workflow import Signing, seal_holder
from services.storage.blobs import BlobStores


class SigningProvider(DependencyProvider):
    """The signing settings of the container; `workflow` makes one over an agency's database and blob store."""

    def setup(self) -> None:
        self.settings = signing_settings_from_config(self.container.config)
        self.stores = BlobStores(self.settings)

    def get_dependency(self, worker_ctx) -> Any:
        return self

    def workflow(self, database) -> Signing:
        return Signing(self.settings, database, self.stores.for_agency(database.agency_id))


CERTIFICATE_METRICS_INTERVAL = 3600.0  # notAfter does not move; only new bindings and renewals change it


class SigningService:
    name = "signing"
    actor = ActingUser()
    metrics = RpcMetrics()
    db = DatabaseProvider("signing", models.Base.metadata)
    config = SigningProvider()

    def _signing(self) -> Signing:
        return self.config.workflow(self.db)

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "ok": True, "tsa": bool(self.config.settings.signing_tsa_url),
                "key_source": self.config.settings.signing_key_source}

    @timer(interval=CERTIFICATE_METRICS_INTERVAL, eager=True)
    def export_certificate_expiry(self) -> None:
        """congvan_signing_certificate_expiry_timestamp_seconds for the keys held (certificates.py): every agency
        with signing tables at start, then those that wrote since (a new binding is exported at once anyway)."""
        for agency in self.db.worklist("certificate_expiry").take():
            export_expiry(self.config.settings, self.db.for_agency(agency))

    @rpc
    def prepare_draft(self, pdf_sha256: str, layout: dict | None = None) -> dict:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        return self._signing().prepare_draft(pdf_sha256, layout)

    @rpc
    def get_rules(self) -> list[dict]:
        """The agency's rules that signing applies (services/common/agency_rules.py: seal_position)."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        return self._signing().get_rules()

    @rpc
    def set_rules(self, changes: dict) -> list[dict]:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.ADMIN)
        return self._signing().set_rules(changes, actor.user_id)

    @rpc
    def placement(self, pdf_sha256: str) -> dict:
        """The boxes of the number, date, signature and seal (prepared fields, or read from the text)."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        return self._signing().placement(pdf_sha256)

    @rpc
    def page_image(self, pdf_sha256: str, page: int, dpi: int = 50) -> dict:
        """A PNG of one page (blob hash) for the preview of the boxes."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        return self._signing().page_image(pdf_sha256, page, dpi)

    @rpc
    def move_fields(self, pdf_sha256: str, layout: dict) -> dict:
        """A new PDF with the prepared boxes moved ({field: {"rect": [...]}}); refused once anyone signed."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.SPECIALIST, Role.DEPARTMENT_HEAD, Role.LEADER, Role.CLERK, Role.SYSTEM)
        return self._signing().move_fields(pdf_sha256, layout)

    @rpc
    def sign_leader(self, pdf_sha256: str, signer_user_id: str, reason: str = "",
                    on_behalf_of: dict | None = None, signer_position: str = "",
                    operation_id: str | None = None, pin: str | None = None, otp: str | None = None) -> dict:
        """A leader signs in their own name; anyone else only with `on_behalf_of` (user_id, full_name,
        position, form "TUQ."/"KT."/"TL."): the delegation routing verified. Everyone signs with their own key."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        on_behalf = parse_on_behalf_of(on_behalf_of)
        if not actor.has(Role.SYSTEM):
            if on_behalf is None and not actor.has(Role.LEADER):
                raise Forbidden("Chỉ lãnh đạo cơ quan, hoặc người được ủy quyền trong thời hạn, mới được ký "
                                "văn bản ban hành.", actor=actor.user_id, roles=sorted(actor.roles))
            if signer_user_id not in (actor.user_id, actor.username):
                raise Forbidden("Chỉ người ký mới được dùng chữ ký số của mình.", actor=actor.user_id,
                                signer=signer_user_id)
            if on_behalf is not None and on_behalf.user_id == actor.user_id:
                raise Forbidden("Không thể ký thay mặt chính mình.", actor=actor.user_id)
        return self._signing().sign_leader(pdf_sha256, signer_user_id, reason, on_behalf_of, signer_position,
                                           operation_id, Pin.of(pin), otp)

    @rpc
    def fill_and_seal(self, pdf_sha256: str, number_text: str, date_text: str, notation: str,
                      appendix_sha256s: list[str] | None = None, operation_id: str | None = None,
                      pin: str | None = None, paper_signed: bool = False) -> dict:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.CLERK, Role.SYSTEM)
        return self._signing().fill_and_seal(pdf_sha256, number_text, date_text, notation, appendix_sha256s or [],
                                             operation_id, Pin.of(pin), paper_signed)

    @rpc
    def seal_copy(self, pdf_sha256: str, text: str, operation_id: str | None = None, pin: str | None = None) -> dict:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.CLERK, Role.SYSTEM)
        return self._signing().seal_copy(pdf_sha256, text, operation_id, Pin.of(pin))

    @rpc
    def verify(self, pdf_sha256: str) -> dict:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        return self._signing().verify(pdf_sha256)

    @rpc
    def set_signature_image(self, user_id: str, png_sha256: str) -> dict:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        if user_id != actor.user_id:
            actor.require(Role.ADMIN, Role.SYSTEM)
        return self._signing().set_image(user_id, png_sha256)

    @rpc
    def set_seal_image(self, png_sha256: str) -> dict:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.ADMIN, Role.CLERK, Role.SYSTEM)
        return self._signing().set_image(seal_holder(self.db.agency_id), png_sha256)

    @rpc
    def personal_certificates(self) -> list[dict]:
        """Personal certificates issued by the PKI dir for this agency (name, title, key reference)."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.ADMIN, Role.SYSTEM)
        return self._signing().personal_certificates()

    @rpc
    def enrol_certificate(self, holder: str, kind: str, certificate: str | None = None,
                          key_ref: dict | None = None) -> dict:
        """An administrator enrols a person's (user id) or, kind "seal", the agency's certificate: PEM or base64 DER
        text, or read from the holder's token (`key_ref`); checked against the configured roots, then bound."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.ADMIN, Role.SYSTEM)
        if kind == "seal":
            holder = seal_holder(self.db.agency_id)
        result = self._signing().enrol_certificate(holder, kind, certificate, key_ref, actor.user_id)
        export_expiry(self.config.settings, self.db)
        return result

    @rpc
    def enrolled_certificates(self) -> list[dict]:
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.ADMIN, Role.SYSTEM)
        return self._signing().enrolled_certificates()

    @rpc
    def register_certificate(self, holder: str, kind: str, key_ref: dict, display_name: str = "") -> dict:
        """Bind a key (PKCS#12 file or PKCS#11 labels) to a leader (user id) or, kind "seal", to the agency."""
        actor = self.actor.required()
        actor.require_agency(self.db.agency_id)
        actor.require(Role.ADMIN, Role.SYSTEM)
        if kind == "seal":
            holder = seal_holder(self.db.agency_id)
        result = self._signing().register_certificate(holder, kind, key_ref, display_name)
        export_expiry(self.config.settings, self.db)  # the new certificate is watched at once
        return result
