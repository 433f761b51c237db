"""The demo's keys on personal tokens (issue 20 item 1; infra/demo_tokens.py): seeding gives the leader and the
agency's seal a SoftHSM2 token each with a PIN made now, bound in a real signing process that runs as production
does (SIGNING_SERVER_HELD_KEYS=false). The leader signs only with his PIN, the clerk seals only with the seal's;
seeding again keeps the tokens."""

from __future__ import annotations

import re
import secrets

import pytest

from infra.demo_seed import seeding_admin
from infra.demo_tokens import seed_tokens
from services.common.actor import Actor
from services.common.errors import CongVanError
from services.signing import sample
from services.storage.blobs import blob_store
from tests.signing.conftest import AGENCY


@pytest.fixture
def production_keys(monkeypatch) -> None:
    """Set before the signing process starts (it reads the environment): no server-held key may sign."""
    monkeypatch.setenv("SIGNING_SERVER_HELD_KEYS", "false")


def test_seeded_tokens_sign_only_with_their_pins(softhsm, production_keys, signing_process, settings):
    client, _port = signing_process
    leader_id = f"u-an-{secrets.token_hex(3)}"  # its own token label: the session's SoftHSM2 holds other tests'
    leader = Actor(user_id=leader_id, username="annv.ubnd", agency_id=AGENCY, roles=frozenset({"leader"}),
                   full_name="Nguyễn Văn An")
    clerk = Actor(user_id="u-clerk", username="hoalt.vp", agency_id=AGENCY, roles=frozenset({"clerk"}),
                  full_name="Lê Thị Hoa")
    staff = [{"user_id": leader_id, "username": "annv.ubnd", "full_name": "Nguyễn Văn An"}]

    lines = seed_tokens(client, seeding_admin(AGENCY), AGENCY, staff, settings.pki_dir, softhsm)
    pins = {who.strip(): pin for who, pin in (re.match(r"\s*(.+?)\s+mã PIN thiết bị ký số: (\d{6})", line).groups()
                                                for line in lines)}
    assert set(pins) == {"annv.ubnd", "con dấu của cơ quan"}, lines

    draft = blob_store(settings, AGENCY).put_bytes(sample.draft_pdf()).sha256
    prepared = client.call("signing", "prepare_draft", clerk, draft)["sha256"]
    for pin, code in ((None, "pin_required"), ("0" + pins["annv.ubnd"], "pin_incorrect")):
        with pytest.raises(CongVanError) as refused:
            client.call("signing", "sign_leader", leader, prepared, leader_id, "Đồng ý", pin=pin)
        assert refused.value.code == code
    signed = client.call("signing", "sign_leader", leader, prepared, leader_id, "Đồng ý", pin=pins["annv.ubnd"])
    with pytest.raises(CongVanError) as unsealed:
        client.call("signing", "fill_and_seal", clerk, signed["sha256"], "Số: 18/QĐ-UBND",
                    "Tuyên Quang, ngày 24 tháng 11 năm 2026", "18/QĐ-UBND", [], pin=pins["annv.ubnd"])
    assert unsealed.value.code == "pin_incorrect"  # the seal has its own PIN
    sealed = client.call("signing", "fill_and_seal", clerk, signed["sha256"], "Số: 18/QĐ-UBND",
                         "Tuyên Quang, ngày 24 tháng 11 năm 2026", "18/QĐ-UBND", [], pin=pins["con dấu của cơ quan"])
    report = client.call("signing", "verify", clerk, sealed["sha256"])
    assert report["legally_valid"], report
    assert {s["signer"] for s in report["signatures"]} == {"Nguyễn Văn An", "Ủy ban nhân dân tỉnh Tuyên Quang"}

    # a restart of the demo seeds again: the tokens and their PINs stay
    assert seed_tokens(client, seeding_admin(AGENCY), AGENCY, staff, settings.pki_dir, softhsm) == []
