"""The shared RPC plumbing through a real agency process on a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest
from nameko.exceptions import RemoteError

from infra import procs
from services.common.actor import Actor
from services.common.errors import Unauthenticated, ValidationFailed
from services.common.rpc import ServiceClient

ACTOR = Actor(user_id="u1", username="hoalt.vp", agency_id="000.00.00.H60", roles=frozenset({"clerk"}),
              full_name="Lê Thị Hoa", unit="VP")


@pytest.fixture
def echo_process(fresh_vhost, tmp_path):
    port = procs.free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    with open(tmp_path / "agency.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.common.agency_process", "--agency", "000.00.00.H60",
             "--amqp-uri", fresh_vhost, "--metrics-port", str(port),
             "--services", "tests.common.echo_service:EchoService"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            procs.wait_until(lambda: procs.http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "echo service")
            yield fresh_vhost, port
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


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
