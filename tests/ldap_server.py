"""A throwaway OpenLDAP directory for tests: Debian's slapd (installed by infra/stack.py, never started as a system
service) run from a generated slapd.conf on a free loopback port, with generated passwords.

It holds a province's e-government accounts: people under ou=people, groups (groupOfNames) under ou=groups, and the
ppolicy overlay so that an account can be locked the way OpenLDAP locks it (pwdAccountLockedTime).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

SUFFIX = "dc=tuyenquang,dc=gov,dc=vn"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
POLICY = f"cn=default,ou=policies,{SUFFIX}"
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"


def ssha(password: str) -> str:
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()  # noqa: S324


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls_files(run: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost and 127.0.0.1: (ca, certificate, key) PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test directory CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = run / "ca.pem", run / "server.pem", run / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


def _config(run: Path) -> str:
    return f"""TLSCACertificateFile {run}/ca.pem
TLSCertificateFile {run}/server.pem
TLSCertificateKeyFile {run}/server.key
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {run}/slapd.pid
argsfile {run}/slapd.args

database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
rootpw {{ROOTPW}}
directory {run}/data
overlay ppolicy
ppolicy_default "{POLICY}"
ppolicy_use_lockout

access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
"""


class Slapd:
    """One slapd process. `url`, `admin_dn`/`admin_password` (rootdn) and helpers to change the directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run = Path(run_dir)
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.tls_port = free_port()
        self.tls_url = f"ldaps://localhost:{self.tls_port}"  # the certificate names localhost and 127.0.0.1
        self.ca_file = self.run / "ca.pem"
        self.admin_dn = f"cn=admin,{SUFFIX}"
        self.admin_password = secrets.token_urlsafe(18)
        self.proc: subprocess.Popen | None = None

    def start(self, ldif: str) -> None:
        (self.run / "data").mkdir(parents=True, exist_ok=True)
        make_tls_files(self.run)
        conf = self.run / "slapd.conf"
        conf.write_text(_config(self.run).replace("{ROOTPW}", ssha(self.admin_password)))
        conf.chmod(0o600)
        base = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: UBND tinh Tuyen Quang
dc: tuyenquang

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: ou=policies,{SUFFIX}
objectClass: organizationalUnit
ou: policies

dn: {POLICY}
objectClass: person
objectClass: pwdPolicy
cn: default
sn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0

"""
        (self.run / "data.ldif").write_text(base + ldif)
        subprocess.run([SLAPADD, "-f", str(conf), "-l", str(self.run / "data.ldif")], check=True,
                       capture_output=True)
        self.log = (self.run / "slapd.log").open("wb")
        # -d keeps slapd in the foreground (a child of this test run, stopped by its PID); stats logs each bind.
        urls = f"{self.url}/ ldaps://127.0.0.1:{self.tls_port}/"
        self.proc = subprocess.Popen([SLAPD, "-f", str(conf), "-h", urls, "-d", "stats"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.run / 'slapd.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        raise RuntimeError("slapd did not listen within 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.run / "data", ignore_errors=True)

    # -- changing the directory while it runs (as its administrator) ----------------------------------------------
    def admin(self):
        from ldap3 import Connection, Server

        return Connection(Server(self.url), user=self.admin_dn, password=self.admin_password, auto_bind=True,
                          raise_exceptions=True)

    def lock(self, uid: str) -> None:
        """OpenLDAP's own lock (ppolicy): from now on every bind as this person fails."""
        from ldap3 import MODIFY_REPLACE

        with self.admin() as conn:
            conn.modify(f"uid={uid},{PEOPLE}", {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["000001010000Z"])]})

    def set_attribute(self, uid: str, attribute: str, value: str) -> None:
        from ldap3 import MODIFY_REPLACE

        with self.admin() as conn:
            conn.modify(f"uid={uid},{PEOPLE}", {attribute: [(MODIFY_REPLACE, [value])]})

    def remove(self, uid: str) -> None:
        """A person who left: their entry is deleted (groups keep the stale member value, as directories do)."""
        with self.admin() as conn:
            conn.delete(f"uid={uid},{PEOPLE}")

    def move_to_group(self, uid: str, old: str, new: str) -> None:
        from ldap3 import MODIFY_ADD, MODIFY_DELETE

        dn = f"uid={uid},{PEOPLE}"
        with self.admin() as conn:
            conn.modify(f"cn={old},{GROUPS}", {"member": [(MODIFY_DELETE, [dn])]})
            conn.modify(f"cn={new},{GROUPS}", {"member": [(MODIFY_ADD, [dn])]})


def person(uid: str, full_name: str, password: str, unit: str = "") -> str:
    surname = full_name.split()[0]
    lines = [f"dn: uid={uid},{PEOPLE}", "objectClass: inetOrgPerson", f"uid: {uid}",
             "cn:: " + base64.b64encode(full_name.encode()).decode(),
             "sn:: " + base64.b64encode(surname.encode()).decode(),
             f"mail: {uid}@tuyenquang.gov.vn", f"userPassword: {ssha(password)}"]
    if unit:
        lines.append(f"departmentNumber: {unit}")
    return "\n".join(lines) + "\n\n"


def group(cn: str, member_uids: list[str]) -> str:
    members = [f"member: uid={uid},{PEOPLE}" for uid in member_uids] or [f"member: {SUFFIX}"]
    return "\n".join([f"dn: cn={cn},{GROUPS}", "objectClass: groupOfNames", f"cn: {cn}", *members]) + "\n\n"
