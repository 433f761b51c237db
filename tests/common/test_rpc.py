"""The shared RPC plumbing through a real agency process on a real broker."""

from __future__ import annotations

import os
import urllib.request

import pytest
from nameko.exceptions import RemoteError

from services.common.actor import Actor
from services.common.errors import Unauthenticated, ValidationFailed
from services.common.rpc_client import ServiceClient
from tests.agency import running_agency_process

ACTOR = Actor(user_id="u1", username="hoalt.vp", agency_id="000.00.00.H60", roles=frozenset({"clerk"}),
              full_name="Lê Thị Hoa", unit="VP")


@pytest.fixture
def echo_process(fresh_vhost, tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    with running_agency_process("tests.common.echo_service:EchoService", fresh_vhost, tmp_path / "agency.log", env,
                                ready_timeout=60) as port:
        yield fresh_vhost, port


def test_actor_travels_in_the_context(echo_process):
    uri, _ = echo_process
    client = ServiceClient(uri, size=2)
    try:
        who = client.call("echo", "whoami", ACTOR)
        assert who["username"] == "hoalt.vp" and who["roles"] == ["clerk"] and who["agency_id"] == "000.00.00.H60"
        with pytest.raises(Unauthenticated) as refused:
            client.call("echo", "whoami", None)
        assert refused.value.message_vi == "Yêu cầu không có người thực hiện hợp lệ."
    finally:
        client.close()


def test_domain_errors_cross_rpc_with_message_and_details(echo_process):
    uri, _ = echo_process
    client = ServiceClient(uri, size=1)
    try:
        with pytest.raises(ValidationFailed) as err:
            client.call("echo", "refuse", ACTOR, "Trích yếu")
        assert err.value.message_vi == "Trường 'Trích yếu' không được để trống."
        assert err.value.details == {"field": "Trích yếu"}
        with pytest.raises(RemoteError):
            client.call("echo", "crash", ACTOR)
        assert client.call("echo", "whoami", ACTOR)["user_id"] == "u1"  # the pool recovered
    finally:
        client.close()


def test_process_serves_metrics_and_health(echo_process):
    uri, port = echo_process
    client = ServiceClient(uri, size=1)
    try:
        client.call("echo", "whoami", ACTOR)
        with pytest.raises(ValidationFailed):
            client.call("echo", "refuse", ACTOR, "x")
    finally:
        client.close()
    health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read().decode()
    assert '"status": "ok"' in health and "echo" in health
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert 'congvan_rpc_requests_total{agency="000.00.00.H60",method="whoami",outcome="ok",service="echo"}' in metrics
    assert 'method="refuse",outcome="refused"' in metrics
