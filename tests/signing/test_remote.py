"""Remote signing (issue 20 item 2): the signing service as a Cloud Signature Consortium API v2 client against the
project's own CSC server over real HTTP. The PDF is prepared and hashed locally and only a 32-byte hash leaves;
the holder authorises with the PIN (SCAL1) or PIN + one-time password (SCAL2); wrong PIN, missing OTP and the
provider's lock get Vietnamese messages."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import pytest

from services.common.errors import CongVanError
from services.signing import csc
from services.signing.csc import CscClient, totp
from tests.signing.conftest import AGENCY, LEADER, local_server


@pytest.fixture(scope="module")
def provider(test_pki, tmp_path_factory):
    """The CSC server with two credentials of the demo leader's key: SCAL1 (PIN) and SCAL2 (PIN + TOTP)."""
    tmp = tmp_path_factory.mktemp("csc")
    pin, otp_secret, token = secrets.token_hex(3), secrets.token_bytes(20), secrets.token_urlsafe(16)
    p12 = str(test_pki.dir / test_pki.agency(AGENCY)["leaders"][0]["p12"])
    entry = {"user": LEADER, "p12": p12, "pin_sha256": hashlib.sha256(pin.encode()).hexdigest()}
    config = {"token": token, "p12_password": test_pki.password.decode(),
              "credentials": {"scal1": entry, "scal2": {**entry, "otp_secret": otp_secret.hex()},
                              "locked": dict(entry)}}
    (tmp / "config.json").write_text(json.dumps(config))
    with local_server("services.signing.csc_server", "--config", str(tmp / "config.json")) as port:
        yield {"url": f"http://127.0.0.1:{port}/csc/v2", "token": token, "pin": pin, "otp_secret": otp_secret}


@pytest.fixture
def remote(signing, provider, monkeypatch):
    signing.settings.signing_csc_token = type(signing.settings.signing_csc_token)(provider["token"])
    sent: list[tuple[str, dict]] = []
    real = CscClient.call

    def recorded(self, method, body):  # a spy on the real HTTP calls: what leaves the installation
        sent.append((method, json.loads(json.dumps(body))))
        return real(self, method, body)

    monkeypatch.setattr(csc.CscClient, "call", recorded)
    return signing, sent


def _bind(signing, provider, credential: str) -> None:
    signing.register_certificate(LEADER, "personal", {"source": "csc", "url": provider["url"],
                                                      "credential_id": credential})


def test_only_the_hash_leaves_and_the_pin_authorises_it(remote, provider, draft_bytes):
    signing, sent = remote
    assert CscClient(provider["url"], provider["token"]).credentials(LEADER) == ["scal1", "scal2", "locked"]
    _bind(signing, provider, "scal1")
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)
    sent.clear()
    signed = signing.sign_leader(prepared["sha256"], LEADER, operation_id="draft:9:step:0:sign", pin=provider["pin"])
    report = signing.verify(signed["sha256"])
    leader = report["signatures"][0]
    assert leader["signer"] == "Nguyễn Văn An" and leader["intact"] and leader["trusted"]
    assert [m for m, _ in sent] == ["credentials/info", "credentials/authorize", "signatures/signHash"]
    for method, body in sent:
        for value in body.get("hashes", []):
            assert len(base64.b64decode(value)) == 32  # a SHA-256 digest, never document bytes
        assert len(json.dumps(body)) < 400, (method, body)  # nothing the size of a PDF left
    assert sent[1][1]["hashes"] == sent[2][1]["hashes"]  # SCAL2-style binding: the SAD covers exactly this hash


def test_wrong_pin_missing_otp_and_the_providers_lock(remote, provider, draft_bytes):
    signing, _ = remote
    prepared = signing.prepare_draft(signing.blobs.put_bytes(draft_bytes).sha256)["sha256"]
    _bind(signing, provider, "scal1")
    with pytest.raises(CongVanError) as wrong:
        signing.sign_leader(prepared, LEADER, pin="0" + provider["pin"])
    assert wrong.value.code == "pin_incorrect" and "Mã PIN" in wrong.value.message_vi

    _bind(signing, provider, "scal2")
    with pytest.raises(CongVanError) as no_otp:
        signing.sign_leader(prepared, LEADER, pin=provider["pin"])
    assert no_otp.value.code == "pin_required" and "OTP" in no_otp.value.message_vi
    with pytest.raises(CongVanError) as bad_otp:
        signing.sign_leader(prepared, LEADER, pin=provider["pin"], otp="000000" if totp(provider["otp_secret"])
                            != "000000" else "111111")
    assert bad_otp.value.code == "pin_incorrect" and "OTP" in bad_otp.value.message_vi
    signed = signing.sign_leader(prepared, LEADER, pin=provider["pin"], otp=totp(provider["otp_secret"]))
    assert signing.verify(signed["sha256"])["signatures"][0]["intact"]

    _bind(signing, provider, "locked")
    codes = []
    for _ in range(5):
        with pytest.raises(CongVanError) as refused:
            signing.sign_leader(prepared, LEADER, operation_id=secrets.token_hex(4), pin="9" + provider["pin"])
        codes.append(refused.value.code)
    assert codes == ["pin_incorrect"] * 4 + ["pin_locked"]
    with pytest.raises(CongVanError) as locked:  # even the right PIN now
        signing.sign_leader(prepared, LEADER, operation_id="after-lock", pin=provider["pin"])
    assert locked.value.code == "pin_locked" and "khóa" in locked.value.message_vi
