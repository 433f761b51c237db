"""The test/demo PKI: root CA → issuing CA → seal, leader and TSA certificates, with CRLs.

Everything is generated at run time (`congvan pki init`), never committed. Private keys are kept encrypted
at rest in PKCS#12 files; the password is generated here and written to a 0600 file in the PKI directory.

Layout of the PKI directory:
    .password                 0600, the PKCS#12 password
    root.pem, issuing.pem     CA certificates;  root.crl, issuing.crl (DER)
    keys/root.p12, keys/issuing.p12, keys/tsa.p12
    agencies/<slug>/seal.p12, agencies/<slug>/leader-<username>.p12
    manifest.json             who is who: paths, names, serials (no secrets)
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from services.common.db import agency_slug
from services.common.errors import NotFound

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)
CRL_BASE = "http://pki.congvan.test"  # written in the CRL distribution points; never fetched (offline CRLs)

# Demo leaders, one per demo agency (services/interconnect/topology.py DEMO), named as in infra/demo_people.py so the
# demo's accounts find their certificates. H60 keeps the account name its tests and CLI examples use.
DEMO_LEADERS: dict[str, tuple[str, str, str]] = {
    "000.00.00.H60": ("Nguyễn Văn An", "Chủ tịch", "annv.ubnd"),
    "000.00.09.H60": ("Trịnh Quang Huy", "Giám đốc", "huytq.snv"),
    "000.00.00.H17": ("Lê Quang Vinh", "Chủ tịch", "vinhlq.vpdn"),
    "000.00.00.G22": ("Trần Đức Long", "Bộ trưởng, Chủ nhiệm", "longtd.vpcp"),
}

# Other demo people who sign with a personal certificate: the department heads, who sign on a leader's behalf
# (TUQ.) when the leader delegates approving to them.
DEMO_SIGNERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "000.00.00.H60": (("Phạm Minh Tuấn", "Trưởng phòng Tổng hợp", "tuanpm.thtq"),),
    "000.00.09.H60": (("Bùi Thanh Sơn", "Trưởng phòng Tổ chức cán bộ", "sonbt.tccb"),),
    "000.00.00.H17": (("Phan Thị Hằng", "Trưởng phòng Tổng hợp", "hangpt.thdn"),),
    "000.00.00.G22": (("Lý Văn Bình", "Vụ trưởng", "binhlv.tkbt"),),
}


@dataclass
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | None  # None when the key lives on a token


@dataclass
class Pki:
    dir: Path
    password: bytes
    root: Issued
    issuing: Issued
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def root_pem(self) -> Path:
        return self.dir / "root.pem"

    def crl_paths(self) -> list[Path]:
        return [self.dir / "root.crl", self.dir / "issuing.crl"]

    def agency(self, agency_id: str) -> dict[str, Any]:
        try:
            return self.manifest["agencies"][agency_id]
        except KeyError:
            raise NotFound("Cơ quan chưa có chứng thư số con dấu trong hệ thống.", agency_id=agency_id) from None

    def path(self, relative: str) -> Path:
        return self.dir / relative


def _name(cn: str, org: str | None = None, title: str | None = None, org_id: str | None = None,
          unit: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    if org_id:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_id))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    # RSA: pyHanko's DummyTimeStamper is RSA only, and VGCA tokens are RSA (STANDARDS.md §7.2).
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _key_usage(*, sign: bool = False, non_repudiation: bool = False, ca: bool = False,
               key_encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=non_repudiation,
                         key_encipherment=key_encipherment, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)


def issue(issuer: Issued | None, subject: x509.Name, *, public_key=None, key: rsa.RSAPrivateKey | None = None,
          ca_path_len: int | None = None, is_ca: bool = False, kind: str = "signer",
          not_before: datetime | None = None, not_after: datetime | None = None,
          key_usage: x509.KeyUsage | None = None, crl_name: str | None = None) -> Issued:
    """One certificate. `kind`: signer (personal or seal), tsa, or ca. Pass `public_key` for a token-held key."""
    now = datetime.now(UTC)
    if public_key is None:
        key = key or new_key(3072 if is_ca and issuer is None else 2048)
        public_key = key.public_key()
    signing_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or now - timedelta(days=1))
               .not_valid_after(not_after or now + timedelta(days=3 * 365))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_path_len), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False)
    if is_ca:
        builder = builder.add_extension(key_usage or _key_usage(sign=True, ca=True), critical=True)
    elif kind == "tsa":
        builder = builder.add_extension(key_usage or _key_usage(sign=True, non_repudiation=True), critical=True)
        # RFC 3161 §2.3: the TSA certificate must carry exactly this EKU, marked critical.
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    else:
        builder = builder.add_extension(key_usage or _key_usage(sign=True, non_repudiation=True), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    if crl_name:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(f"{CRL_BASE}/{crl_name}")], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
    assert signing_key is not None
    cert = builder.sign(signing_key, hashes.SHA256())
    return Issued(cert, key)


def make_crl(ca: Issued, revoked: Iterable[tuple[int, datetime]] = (),
             days: int = 30, at: datetime | None = None) -> x509.CertificateRevocationList:
    now = at or datetime.now(UTC)  # `at`: a CRL of another time, for the long-term validity tests
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(now - timedelta(minutes=5)).next_update(now + timedelta(days=days))
               .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.cert.public_key()),
                              critical=False))
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    assert ca.key is not None
    return builder.sign(ca.key, hashes.SHA256())


# ---------------------------------------------------------------- files


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_p12(path: Path, issued: Issued, chain: list[x509.Certificate], password: bytes, name: str) -> None:
    assert issued.key is not None
    data = pkcs12.serialize_key_and_certificates(
        name.encode(), issued.key, issued.cert, chain or None,
        serialization.BestAvailableEncryption(password))
    _write_private(path, data)


def read_p12(path: Path, password: bytes) -> Issued:
    key, cert, _ = pkcs12.load_key_and_certificates(Path(path).read_bytes(), password)
    assert cert is not None
    return Issued(cert, key)  # type: ignore[arg-type]


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_certificate(path: Path) -> x509.Certificate:
    data = Path(path).read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_crl(path: Path) -> x509.CertificateRevocationList:
    data = Path(path).read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def password_of(pki_dir: Path) -> bytes:
    path = Path(pki_dir) / ".password"
    if not path.exists():
        raise NotFound("Chưa khởi tạo hạ tầng khóa công khai (chạy: congvan pki init).", pki_dir=str(pki_dir))
    return path.read_bytes().strip()


def load_pki(pki_dir: Path) -> Pki:
    pki_dir = Path(pki_dir)
    password = password_of(pki_dir)
    manifest = json.loads((pki_dir / "manifest.json").read_text())
    return Pki(pki_dir, password, read_p12(pki_dir / "keys/root.p12", password),
               read_p12(pki_dir / "keys/issuing.p12", password), manifest)


def write_crls(pki: Pki, revoked: Iterable[tuple[int, datetime]] = (), at: datetime | None = None) -> None:
    (pki.dir / "root.crl").write_bytes(make_crl(pki.root, at=at).public_bytes(serialization.Encoding.DER))
    (pki.dir / "issuing.crl").write_bytes(
        make_crl(pki.issuing, revoked, at=at).public_bytes(serialization.Encoding.DER))


def revoke(pki: Pki, serial: int, when: datetime | None = None) -> None:
    """Add `serial` to the issuing CA's CRL (kept in the manifest so re-issuing the CRL keeps it)."""
    revoked = pki.manifest.setdefault("revoked", [])
    revoked.append([str(serial), (when or datetime.now(UTC) - timedelta(minutes=1)).isoformat()])
    write_crls(pki, [(int(s), datetime.fromisoformat(t)) for s, t in revoked])
    _save_manifest(pki)


def _save_manifest(pki: Pki) -> None:
    (pki.dir / "manifest.json").write_text(json.dumps(pki.manifest, ensure_ascii=False, indent=2))


def issue_signer(pki: Pki, cn: str, *, org: str, title: str | None = None, org_id: str | None = None,
                 **kwargs: Any) -> Issued:
    return issue(pki.issuing, _name(cn, org=org, title=title, org_id=org_id), crl_name="issuing.crl", **kwargs)


def save_signer(pki: Pki, issued: Issued, relative: str, name: str) -> dict[str, Any]:
    """Write a signer's PKCS#12 (with its chain) and certificate; returns its manifest entry."""
    write_p12(pki.dir / relative, issued, [pki.issuing.cert, pki.root.cert], pki.password, name)
    cert_path = relative.removesuffix(".p12") + ".pem"
    (pki.dir / cert_path).write_bytes(pem(issued.cert))
    return {"p12": relative, "cert": cert_path, "serial": str(issued.cert.serial_number),
            "subject": issued.cert.subject.rfc4514_string()}


@dataclass(frozen=True)
class AgencyEntry:
    organ_id: str
    name: str
    leader_name: str
    leader_title: str
    leader_username: str
    signers: tuple[tuple[str, str, str], ...] = ()  # (name, title, username) of other personal certificates


def demo_agencies(agencies: Iterable[Any]) -> list[AgencyEntry]:
    """AgencySpec-like objects → entries with a leader (demo names; a generic one for unknown agencies)."""
    out = []
    for i, a in enumerate(agencies):
        name, title, user = DEMO_LEADERS.get(a.organ_id, (f"Lãnh Đạo Số {i + 1}", "Thủ trưởng", f"lanhdao{i + 1}"))
        out.append(AgencyEntry(a.organ_id, a.name, name, title, user, DEMO_SIGNERS.get(a.organ_id, ())))
    return out


def init_pki(pki_dir: Path, agencies: Iterable[AgencyEntry], ca_prefix: str = "Công Văn Test") -> Pki:
    """Create a fresh PKI in pki_dir (an existing one is replaced). `ca_prefix` names the CAs."""
    pki_dir = Path(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(pki_dir, 0o700)
    password = secrets.token_urlsafe(24).encode()
    _write_private(pki_dir / ".password", password + b"\n")
    org = "Công Văn (thử nghiệm)"
    # The CAs outlive the 3-year certificates they issue by decades, as real ones do: the time stamp authority is
    # renewed under the same issuing CA for as long as the archive time stamp chain runs (ltv.py).
    root = issue(None, _name(f"{ca_prefix} Root CA", org=org), is_ca=True, ca_path_len=1,
                 not_after=datetime.now(UTC) + timedelta(days=30 * 365))
    issuing = issue(root, _name(f"{ca_prefix} Issuing CA", org=org), is_ca=True,
                    ca_path_len=0, crl_name="root.crl", not_after=datetime.now(UTC) + timedelta(days=20 * 365))
    pki = Pki(pki_dir, password, root, issuing, {"root": "root.pem", "issuing": "issuing.pem",
                                                 "crls": ["root.crl", "issuing.crl"], "agencies": {},
                                                 "revoked": []})
    write_p12(pki_dir / "keys/root.p12", root, [], password, "root")
    write_p12(pki_dir / "keys/issuing.p12", issuing, [root.cert], password, "issuing")
    (pki_dir / "root.pem").write_bytes(pem(root.cert))
    (pki_dir / "issuing.pem").write_bytes(pem(issuing.cert))
    pki.manifest["ca_prefix"] = ca_prefix
    renew_tsa(pki, save=False)
    for entry in agencies:
        slug = agency_slug(entry.organ_id)
        seal = issue_signer(pki, entry.name, org=entry.name, org_id=f"VN:{entry.organ_id}")
        leader = issue_signer(pki, entry.leader_name, org=entry.name, title=entry.leader_title)
        pki.manifest["agencies"][entry.organ_id] = {
            "name": entry.name,
            "seal": save_signer(pki, seal, f"agencies/{slug}/seal.p12", "seal"),
            "leaders": [{"name": entry.leader_name, "title": entry.leader_title, "username": entry.leader_username,
                         **save_signer(pki, leader, f"agencies/{slug}/leader-{entry.leader_username}.p12",
                                       entry.leader_username)}],
            "signers": [{"name": name, "title": title, "username": username,
                         **save_signer(pki, issue_signer(pki, name, org=entry.name, title=title),
                                       f"agencies/{slug}/signer-{username}.p12", username)}
                        for name, title, username in entry.signers],
        }
    write_crls(pki)
    _save_manifest(pki)
    return pki


def renew_tsa(pki: Pki, *, save: bool = True) -> Issued:
    """A new key and certificate (3 years) for the time stamp authority, as a real TSA renews before its
    certificate expires; the old one stays valid until then, so the stamps it made still verify
    (`congvan pki renew-tsa`; the archive refresh then stamps with the new one)."""
    prefix = pki.manifest.get("ca_prefix", "Công Văn Test")
    tsa = issue(pki.issuing, _name(f"{prefix} TSA", org="Công Văn (thử nghiệm)"), kind="tsa", crl_name="issuing.crl")
    pki.manifest["tsa"] = save_signer(pki, tsa, "keys/tsa.p12", "tsa")
    if save:
        _save_manifest(pki)
    return tsa


def personal_certificates(pki: Pki, agency_id: str) -> list[dict[str, Any]]:
    """The personal certificates the PKI issued in an agency: its leader first, then the other signers."""
    agency = pki.manifest.get("agencies", {}).get(agency_id) or {}
    return [*(agency.get("leaders") or []), *(agency.get("signers") or [])]


def find_leader(pki: Pki, agency_id: str, user: str) -> dict[str, Any] | None:
    """The demo leader (or other demo signer) of an agency whose username (or registered user id) is `user`."""
    return next((p for p in personal_certificates(pki, agency_id) if user in (p["username"], p.get("user_id"))),
                None)
