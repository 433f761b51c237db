"""The certificates of the keys this agency's signing service holds, and their expiry as a Prometheus gauge.

    congvan_signing_certificate_expiry_timestamp_seconds{agency, role, subject, serial} = notAfter (Unix time)

The ops alert `SigningCertificateExpiresSoon` fires 30 days before. Keys held: every registered binding
(PKCS#12 file or PKCS#11 token) and, for holders without a binding, the agency's seal and leaders of the PKI
manifest (the PKCS#12 default). A key that cannot be opened is logged and left out, never fatal: the
metric must not take the service down.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from prometheus_client import Gauge
from sqlalchemy import select

from services.common import clock
from services.common.db import Database
from services.common.errors import CongVanError
from services.signing.enrolment import expiry_warning
from services.signing.keys import certificate_of
from services.signing.models import EnrolledCertificate, KeyBinding
from services.signing.pki import load_pki
from services.signing.settings import SigningSettings

log = logging.getLogger(__name__)

CERTIFICATE_WARNING = Gauge(
    "congvan_signing_certificate_expiry_warning_days",
    "Expiry warning of each signing certificate: 30 within 30 days, 7 within 7 days, -1 expired, 0 none "
    "(Tuyên Quang Quy chế Đ21.1b: heads answer for their certificates)",
    ["agency", "role", "subject", "serial"],
)
CERTIFICATE_EXPIRY = Gauge(
    "congvan_signing_certificate_expiry_timestamp_seconds",
    "notAfter of each signing certificate held by the agency's signing service, Unix time",
    ["agency", "role", "subject", "serial"],
)


# The label sets exported per agency, so that one agency's export removes only its own stale series.
_EXPORTED: dict[str, set[tuple[str, str, str, str]]] = {}
_EXPORTED_LOCK = threading.Lock()


@dataclass(frozen=True)
class HeldCertificate:
    holder: str
    role: str          # leader | seal
    subject: str       # the certificate's common name
    serial: str        # hex
    not_after: float   # Unix time


def key_refs(settings: SigningSettings, database: Database) -> dict[str, tuple[str, dict[str, Any]]]:
    """holder -> (role, key reference): registered bindings first, then the PKI manifest's defaults."""
    refs: dict[str, tuple[str, dict[str, Any]]] = {}
    try:
        agency = load_pki(settings.pki_dir).manifest.get("agencies", {}).get(database.agency_id) or {}
    except (CongVanError, FileNotFoundError):  # no PKI dir: production keys are all registered
        agency = {}
    if settings.signing_key_source == "pkcs12" and agency:
        refs[f"agency:{database.agency_id}"] = ("seal", {"source": "pkcs12", "p12": agency["seal"]["p12"]})
        for leader in agency.get("leaders") or []:
            refs[leader["username"]] = ("leader", {"source": "pkcs12", "p12": leader["p12"]})
    with database.session() as session:
        for row in session.execute(select(KeyBinding)).scalars():
            refs[row.holder] = ("seal" if row.kind == "seal" else "leader", dict(row.key_ref))
    return refs


def held_certificates(settings: SigningSettings, database: Database) -> list[HeldCertificate]:
    out = []
    with database.session() as session:  # an enrolled certificate is the holder's, whatever key is bound
        enrolled = {row.holder: row for row in session.execute(select(EnrolledCertificate)).scalars()}
        for row in enrolled.values():
            cert = asn1_x509.Certificate.load(row.der)
            out.append(HeldCertificate(row.holder, "seal" if row.kind == "seal" else "leader", row.subject,
                                       row.serial, cert.not_valid_after.timestamp()))
    for holder, (role, ref) in key_refs(settings, database).items():
        if holder in enrolled:
            continue
        try:
            cert = certificate_of(ref, settings)  # no PIN needed: a certificate is public
        except (CongVanError, OSError, ValueError) as exc:
            log.warning("certificate of %s not readable for the expiry metric: %s", holder, exc)
            continue
        subject = cert.subject.native.get("common_name") or cert.subject.human_friendly
        out.append(HeldCertificate(holder, role, str(subject), format(cert.serial_number, "x"),
                                   cert.not_valid_after.timestamp()))
    return out


def export_expiry(settings: SigningSettings, database: Database) -> list[HeldCertificate]:
    """Set the agency's series of the gauge to exactly the certificates it holds now (a replaced certificate's
    series disappears; other agencies' series stay)."""
    certificates = held_certificates(settings, database)
    agency = database.agency_id
    with _EXPORTED_LOCK:
        for labels in _EXPORTED.pop(agency, set()):
            with contextlib.suppress(KeyError):
                CERTIFICATE_EXPIRY.remove(*labels)
            with contextlib.suppress(KeyError):
                CERTIFICATE_WARNING.remove(*labels)
        exported = _EXPORTED[agency] = set()
        for c in certificates:
            labels = (agency, c.role, c.subject, c.serial)
            CERTIFICATE_EXPIRY.labels(*labels).set(c.not_after)
            CERTIFICATE_WARNING.labels(*labels).set(
                expiry_warning(datetime.fromtimestamp(c.not_after, UTC), clock.now_utc()))
            exported.add(labels)
    return certificates
