"""The expiry gauge of the certificates the signing service holds (the ops alert watches it)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.signing import pki
from services.signing.certificates import export_expiry
from tests.signing.conftest import AGENCY

METRIC = "congvan_signing_certificate_expiry_timestamp_seconds"


def test_expiry_gauge_covers_the_seal_and_the_leaders(signing, settings, test_pki):
    held = export_expiry(settings, signing.db)
    agency = test_pki.agency(AGENCY)
    seal = pki.load_certificate(test_pki.dir / agency["seal"]["cert"])
    leader = pki.load_certificate(test_pki.dir / agency["leaders"][0]["cert"])
    assert {(c.role, c.subject) for c in held} == {("seal", "Ủy ban nhân dân tỉnh Tuyên Quang"),
                                                   ("leader", "Nguyễn Văn An")}
    expected = (("seal", "Ủy ban nhân dân tỉnh Tuyên Quang", seal), ("leader", "Nguyễn Văn An", leader))
    for role, subject, cert in expected:
        labels = {"agency": AGENCY, "role": role, "subject": subject, "serial": format(cert.serial_number, "x")}
        assert REGISTRY.get_sample_value(METRIC, labels) == cert.not_valid_after_utc.timestamp()


def test_a_registered_key_replaces_the_default_and_its_old_series(signing, settings, test_pki):
    export_expiry(settings, signing.db)
    renewed = pki.issue_signer(test_pki, "Ủy ban nhân dân tỉnh Tuyên Quang", org="Ủy ban nhân dân tỉnh Tuyên Quang",
                               org_id=f"VN:{AGENCY}")
    entry = pki.save_signer(test_pki, renewed, f"renewed-{renewed.cert.serial_number:x}.p12", "seal")
    signing.register_certificate(f"agency:{AGENCY}", "seal", {"source": "pkcs12", "p12": entry["p12"]})
    held = export_expiry(settings, signing.db)
    (seal,) = [c for c in held if c.role == "seal"]
    assert seal.serial == format(renewed.cert.serial_number, "x")
    old = format(pki.load_certificate(test_pki.dir / test_pki.agency(AGENCY)["seal"]["cert"]).serial_number, "x")
    assert REGISTRY.get_sample_value(METRIC, {"agency": AGENCY, "role": "seal",
                                              "subject": "Ủy ban nhân dân tỉnh Tuyên Quang", "serial": old}) is None
