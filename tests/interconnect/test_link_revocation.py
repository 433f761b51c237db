"""The CRL reading and the link guard's choice of connections (pure logic; the real brokers are in
test_hub_brokers_tls.py)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from cryptography import x509

from infra.broker_pki import BrokerCa
from services.interconnect.link_guard import LinkGuard
from services.interconnect.link_revocation import read_crls


class _Answer:
    status_code = 204

    def raise_for_status(self) -> None:
        pass


class _Admin:
    """The two calls the guard makes, answering a fixed list of connections."""

    base = "http://broker/api"

    def __init__(self, connections: list[dict]) -> None:
        self.listed, self.deleted = connections, []
        self.client = self

    def connections(self) -> list[dict]:
        return self.listed

    def delete(self, url: str, headers: dict) -> _Answer:
        self.deleted.append((url.rsplit("/", 1)[1], headers["X-Reason"]))
        return _Answer()


def _link(name: str, opened: float) -> dict:
    return {"name": name, "ssl": True, "peer_cert_subject": f"CN={name}", "user": name,
            "connected_at": int(opened * 1000)}


def test_crl_problems_are_named(tmp_path):
    assert "no CRL" in read_crls(tmp_path).problems[0]
    assert "CRL directory" in read_crls(tmp_path / "absent").problems[0]
    ca = BrokerCa.create(tmp_path / "ca")
    assert read_crls(ca.crl_dir).problems == []
    expired = ca.write_crl()
    from cryptography.hazmat.primitives import serialization

    from services.signing import pki

    old = pki.make_crl(ca.ca, days=1, at=datetime.now(UTC) - timedelta(days=3))
    expired.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    assert "expired at" in read_crls(ca.crl_dir).problems[0]


def test_a_revoked_certificate_is_found_by_issuer_and_serial(tmp_path):
    ca = BrokerCa.create(tmp_path)
    kept, revoked = ca.client("hub.H60"), ca.client("hub.H17")
    ca.revoke(revoked)
    crls = read_crls(ca.crl_dir)
    load = x509.load_pem_x509_certificate
    assert crls.revocation(load(kept.cert.read_bytes())) is None
    assert crls.revocation(load(revoked.cert.read_bytes())) is not None


def test_the_guard_closes_links_accepted_before_a_crl_that_revokes_more(tmp_path):
    ca = BrokerCa.create(tmp_path)
    before = time.time() - 60
    admin = _Admin([_link("old", before), {**_link("plain", before), "ssl": False}])
    guard = LinkGuard("national", admin, ca.crl_dir, interval=1)   # type: ignore[arg-type]
    assert guard.check() == []                  # a CRL revoking nothing: nothing to check again
    ca.revoke(ca.client("hub.H17"))
    crl = next(ca.crl_dir.iterdir())
    os.utime(crl, (time.time() - 30, time.time() - 30))
    admin.listed.append(_link("new", time.time()))   # accepted after the CRL: checked at its handshake
    assert guard.check() == ["old"]
    assert "revokes serial(s)" in admin.deleted[0][1]
    assert guard.check() == []                  # listed a while after it closed: not closed twice
    admin.listed = [_link("new", time.time())]
    ca.write_crl()                              # re-published, revoking nothing more
    assert guard.check() == []
