"""PAdES B-T with the local RFC 3161 TSA, and the PKCS#11 path with a throwaway SoftHSM2 token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from infra.procs import free_port
from services.signing import pki
from tests.signing.test_flow import issue

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture
def tsa_url(test_pki):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.signing.tsa", "--port", str(port), "--pki-dir",
                             str(test_pki.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait until it listens (not a timed assertion: a start-up wait)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the TSA did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pades_b_t_with_the_local_tsa(signing, draft_bytes, tsa_url):
    signing.settings.signing_tsa_url = tsa_url
    report = signing.verify(issue(signing, draft_bytes)["sha256"])
    assert report["verdict"] == "valid"
    for sig in report["signatures"]:
        assert sig["timestamp_time"] is not None and sig["timestamp_valid"] is True


@pytest.mark.skipif(not SOFTHSM.exists(), reason="softhsm2 is in infra/stack.py APT_PACKAGES")
def test_pkcs11_token_signs_and_verifies(signing, test_pki, draft_bytes, tmp_path, monkeypatch):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    label, pin = "congvan-test", "246810"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "13579"],
                   env=env, check=True, capture_output=True)
    # the leader's key and certificate, imported onto the token (a real token would generate the key inside)
    issued = pki.issue_signer(test_pki, "Hoàng Văn Token", org="Ủy ban nhân dân tỉnh Tuyên Quang",
                              title="Phó Chủ tịch")
    (tmp_path / "key.der").write_bytes(issued.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
    (tmp_path / "cert.der").write_bytes(issued.cert.public_bytes(Encoding.DER))
    for kind, path in (("privkey", "key.der"), ("cert", "cert.der")):
        subprocess.run(["pkcs11-tool", "--module", str(SOFTHSM), "--token-label", label, "--login", "--pin", pin,
                        "--write-object", str(tmp_path / path), "--type", kind, "--id", "01", "--label", "leader"],
                       env=env, check=True, capture_output=True)
    signing.settings.signing_pkcs11_module = str(SOFTHSM)
    signing.settings.signing_pkcs11_token_label = label
    monkeypatch.setattr(signing.settings, "signing_pkcs11_pin", type(signing.settings.signing_pkcs11_pin)(pin))
    signing.register_certificate("hoangvt.ubnd", "personal", {"source": "pkcs11", "key_label": "leader",
                                                              "cert_label": "leader"})
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    leader = signing.sign_leader(prepared["sha256"], "hoangvt.ubnd")
    sealed = signing.fill_and_seal(leader["sha256"], "Số: 16/QĐ-UBND", "Tuyên Quang, ngày 22 tháng 11 năm 2026",
                                   "16/QĐ-UBND")
    report = signing.verify(sealed["sha256"])
    assert report["verdict"] == "valid"
    lead = next(s for s in report["signatures"] if s["field"] == "LanhDao")
    assert lead["signer"] == "Hoàng Văn Token" and lead["valid"] and lead["modification_level"] == "FORM_FILLING"
