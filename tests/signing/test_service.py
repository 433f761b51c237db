"""The nameko `signing` service in a real agency process on a fresh vhost, called over RPC."""

from __future__ import annotations

import urllib.request

import pytest

from infra import procs
from services.common.actor import Actor
from services.common.errors import Forbidden
from services.signing import layout, sample
from services.storage.blobs import blob_store
from tests.signing.conftest import AGENCY, LEADER

LEADER_ACTOR = Actor(user_id="u-leader", username=LEADER, agency_id=AGENCY, roles=frozenset({"leader"}),
                     full_name="Nguyễn Văn An")
CLERK = Actor(user_id="u-clerk", username="hoalt.vp", agency_id=AGENCY, roles=frozenset({"clerk"}),
              full_name="Lê Thị Hoa")


def test_flow_over_rpc(signing_process, settings):
    client, port = signing_process
    blobs = blob_store(settings, AGENCY)
    draft = blobs.put_bytes(sample.draft_pdf()).sha256
    png = blobs.put_bytes(layout.png_bytes(layout.default_signature_image("An", _italic()))).sha256

    assert client.call("signing", "health", CLERK)["ok"] is True
    assert client.call("signing", "set_signature_image", LEADER_ACTOR, "u-leader", png)["png_sha256"] == png
    prepared = client.call("signing", "prepare_draft", CLERK, draft)
    with pytest.raises(Forbidden):  # a clerk cannot use the leader's key
        client.call("signing", "sign_leader", CLERK, prepared["sha256"], LEADER)
    signed = client.call("signing", "sign_leader", LEADER_ACTOR, prepared["sha256"], LEADER, "Đồng ý ban hành")
    sealed = client.call("signing", "fill_and_seal", CLERK, signed["sha256"], "Số: 17/QĐ-UBND",
                         "Tuyên Quang, ngày 23 tháng 11 năm 2026", "17/QĐ-UBND", [])
    report = client.call("signing", "verify", CLERK, sealed["sha256"])
    assert report["verdict"] == "valid" and report["legally_valid"] is True
    assert {s["field"] for s in report["signatures"] if s["valid"]} == {"LanhDao", "DauCoQuan"}

    # the expiry of the certificates held is exported at start (an eager timer) for the ops alert
    procs.wait_until(lambda: len(_expiry_lines(port)) == 2, 60, "certificate expiry metric")
    expiry = _expiry_lines(port)
    assert any('role="seal"' in line and 'subject="Ủy ban nhân dân tỉnh Tuyên Quang"' in line for line in expiry)
    assert any('role="leader"' in line and 'subject="Nguyễn Văn An"' in line for line in expiry)


def _expiry_lines(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    return [line for line in metrics.splitlines()
            if line.startswith("congvan_signing_certificate_expiry_timestamp_seconds{")]


def _italic():
    from services.signing import fonts

    return fonts.system_font(fonts.SERIF_ITALIC)
