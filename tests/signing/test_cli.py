"""`congvan pki init` and `congvan pdf verify` (through services.signing.cli, which infra/cli.py registers)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.signing.test_flow import issue


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.signing.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False, timeout=120)


def test_pki_init_writes_encrypted_keys_and_a_private_password(tmp_path):
    done = run_cli("pki", "init", "--dir", str(tmp_path / "pki"), "--agencies", "demo")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["agencies"]["000.00.00.H60"]["leaders"] == ["annv.ubnd"]
    pki_dir = tmp_path / "pki"
    assert stat.S_IMODE((pki_dir / ".password").stat().st_mode) == 0o600
    for name in ("root.pem", "issuing.pem", "root.crl", "issuing.crl", "keys/tsa.p12",
                 "agencies/000_00_00_h60/seal.p12", "agencies/000_00_00_h60/leader-annv.ubnd.p12"):
        assert (pki_dir / name).exists(), name
    seal = (pki_dir / "agencies/000_00_00_h60/seal.p12").read_bytes()
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(seal, None)  # encrypted at rest
    key, cert, _ = pkcs12.load_key_and_certificates(seal, (pki_dir / ".password").read_bytes().strip())
    assert key is not None and "Tuyên Quang" in cert.subject.rfc4514_string()


def test_pdf_verify_exits_0_only_when_every_signature_is_valid_and_trusted(signing, test_pki, draft_bytes,
                                                                        tmp_path):
    pdf = tmp_path / "issued.pdf"
    pdf.write_bytes(signing.blobs.read(issue(signing, draft_bytes)["sha256"]))
    no_pki = {"DATA_DIR": str(tmp_path / "empty"), "SIGNING_PKI_DIR": str(tmp_path / "none")}

    trusted = run_cli("pdf", "verify", str(pdf), "--trust", str(test_pki.root_pem), env=no_pki)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert json.loads(trusted.stdout)["verdict"] == "valid"

    untrusted = run_cli("pdf", "verify", str(pdf), env=no_pki)
    assert untrusted.returncode == 1
    assert json.loads(untrusted.stdout)["verdict"] == "untrusted"


def test_pdf_verify_trusts_the_deployments_roots_without_being_told(signing, test_pki, draft_bytes, tmp_path):
    pdf = tmp_path / "issued.pdf"
    pdf.write_bytes(signing.blobs.read(issue(signing, draft_bytes)["sha256"]))
    deployment = {"DATA_DIR": str(tmp_path / "empty"), "SIGNING_PKI_DIR": str(test_pki.dir)}
    done = run_cli("pdf", "verify", str(pdf), env=deployment)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "valid", report
    assert len(report["trust_roots"]) == 1 and report["trust_roots"][0].endswith("Root CA")
    by_option = run_cli("pdf", "verify", str(pdf), "--pki-dir", str(test_pki.dir),
                        env={"DATA_DIR": str(tmp_path / "empty")})
    assert by_option.returncode == 0, by_option.stdout
