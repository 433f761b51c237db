"""The brokers' test/demo CA: a server certificate per hub broker, a client certificate per hub, and the CRL
every broker checks hub links against. Minted at run time into a run directory (keys 0600), never committed;
in production a real CA issues these (docs/interconnect.md, docs/deployment.md).

    ca = BrokerCa.create(run_dir / "tls")
    server = ca.server("national")                 # TlsFiles(cert, key, ca) for RabbitNode's NodeTls
    client = ca.client("hub.H60")                  # CN = the hub's broker user (EXTERNAL login)
    ca.revoke(client)                              # rewrites the CRL in ca.crl_dir: refused at the next handshake

Keys are RSA 2048 made with services/signing/pki.py's helpers; the CRL too (pki.make_crl).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.signing import pki


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path

    def as_dict(self) -> dict[str, str]:
        return {"cert": str(self.cert), "key": str(self.key), "ca": str(self.ca)}


def _name(cn: str, org: str = "Công Văn (thử nghiệm)") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def _usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=not ca,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def issue(issuer: pki.Issued | None, cn: str, *, server: bool = False, client: bool = False,
          hosts: tuple[str, ...] = (), days: int = 365) -> pki.Issued:
    """A CA (issuer None: self-signed) or a TLS leaf with the EKUs Erlang's ssl checks (serverAuth/clientAuth)."""
    key = pki.new_key()
    now = datetime.now(UTC)
    subject = _name(cn)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
               .not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
               .add_extension(_usage(issuer is None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signer = issuer.key if issuer else key
    assert signer is not None
    return pki.Issued(builder.sign(signer, hashes.SHA256()), key)


def write_pair(directory: Path, stem: str, issued: pki.Issued, ca_path: Path) -> TlsFiles:
    """`stem`.pem and `stem`.key (PEM, unencrypted: RabbitMQ and pika read them at start; the file is 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert = directory / f"{stem}.pem"
    cert.write_bytes(pki.pem(issued.cert))
    key = directory / f"{stem}.key"
    assert issued.key is not None
    pki._write_private(key, issued.key.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                                     serialization.NoEncryption()))
    return TlsFiles(cert, key, ca_path)


class BrokerCa:
    """The CA of the hub links, kept in `dir`: ca.pem, keys/ca.key, crl/<hash>.r0, revoked.json."""

    def __init__(self, directory: Path, ca: pki.Issued) -> None:
        self.dir = Path(directory)
        self.ca = ca

    @property
    def ca_path(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def crl_dir(self) -> Path:
        return self.dir / "crl"

    @classmethod
    def create(cls, directory: Path, cn: str = "Công Văn Broker CA (thử nghiệm)") -> BrokerCa:
        directory = Path(directory)
        ca = cls(directory, issue(None, cn, days=3650))
        write_pair(directory / "keys", "ca", ca.ca, ca.ca_path)
        ca.ca_path.write_bytes(pki.pem(ca.ca.cert))
        ca.write_crl()
        return ca

    def server(self, name: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> TlsFiles:
        return write_pair(self.dir / "servers", name, issue(self.ca, f"broker {name}", server=True, hosts=hosts),
                          self.ca_path)

    def client(self, user: str) -> TlsFiles:
        """A hub's link certificate: CN = its broker user, which RabbitMQ's EXTERNAL login takes as the user."""
        return write_pair(self.dir / "clients", user.replace("/", "_"), issue(self.ca, user, client=True),
                          self.ca_path)

    def revoked(self) -> dict[str, str]:
        path = self.dir / "revoked.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def revoke(self, files: TlsFiles) -> None:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        revoked = {**self.revoked(), str(cert.serial_number): datetime.now(UTC).isoformat()}
        (self.dir / "revoked.json").write_text(json.dumps(revoked))
        self.write_crl()

    def write_crl(self) -> Path:
        """The CRL under the issuer's OpenSSL name hash (`<hash>.r0`), where Erlang's ssl_crl_hash_dir looks."""
        crl = pki.make_crl(self.ca, [(int(s), datetime.fromisoformat(at)) for s, at in self.revoked().items()])
        self.crl_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.crl_dir / "crl.pem.tmp"
        tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        digest = subprocess.run(["openssl", "crl", "-hash", "-noout", "-in", str(tmp)], capture_output=True,
                                text=True, check=True).stdout.strip()
        target = self.crl_dir / f"{digest}.r0"
        tmp.replace(target)   # atomic: a handshake never reads half a CRL
        return target


def self_signed(directory: Path, user: str, ca_path: Path) -> TlsFiles:
    """A certificate no broker trusts, with a hub's user as CN (the 'hub with a self-signed certificate'); it
    still trusts the brokers' CA (`ca_path`), so only the broker's side of the handshake can fail."""
    return write_pair(directory, f"self-signed-{user}", issue(None, user, days=30), ca_path)
