"""The LGSP's OAuth2 bearer token (STANDARDS.md §1.9 "+ an OAuth2 bearer token in production"), over real HTTP.

Tuyên Quang's hub's LGSP API runs twice on the test broker, both requiring tokens (LGSP_REQUIRE_TOKEN): one issuing
tokens for an hour, one for three seconds (the expiry cases). A client written from the RFCs (a form POST with
HTTP Basic, then `Authorization: Bearer`) checks the token endpoint and the refusals: no token, an unknown one,
another system's, an expired one, each code 15 under HTTP 401. The edge's own client (lgsp_edge.LgspClient with a
TokenSource) fetches a token, keeps it, fetches a new one after it expired and once after a 401.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from services.common.settings import CommonSettings
from services.interconnect.axis_api import open_store
from services.interconnect.lgsp_edge import LgspCallError, LgspClient
from services.interconnect.lgsp_oauth import TokenSource, TokenStore
from tests.interconnect.harness import Network, add_system, provisioned_network
from tests.interconnect.lgsp_client import LgspTestClient
from tests.interconnect.test_lgsp_api import OTHER, OTHER_SYSTEM, ROOT, SYSTEM, _topology

SHORT = 3   # seconds a token of the second API lives


def _start_api(net: Network, name: str, **env: str) -> str:
    port = net.start_api("lgsp", "H60", name=name, env={"LGSP_REQUIRE_TOKEN": "true", **env})
    return f"http://127.0.0.1:{port}/lgsp/api"


@pytest.fixture(scope="module")
def axis(rabbit_admin, stack_env, tmp_path_factory):
    topology = _topology()
    with provisioned_network(rabbit_admin, stack_env, topology, tmp_path_factory.mktemp("lgsp-token") / "run") as net:
        net.start([])
        secrets = {SYSTEM: add_system(net, "lgsp", SYSTEM, [ROOT], "--hub", "H60"),
                   OTHER_SYSTEM: add_system(net, "lgsp", OTHER_SYSTEM, [OTHER], "--hub", "H60")}
        hour = _start_api(net, "lgsp:hour")
        short = _start_api(net, "lgsp:short", LGSP_TOKEN_SECONDS=str(SHORT))
        net.wait_healthy()
        yield net, secrets, hour, short


def _token_request(base: str, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic:
        pair = f"{urllib.parse.quote_plus(basic[0])}:{urllib.parse.quote_plus(basic[1])}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return _open(urllib.request.Request(f"{base}/token", urllib.parse.urlencode(form).encode(), headers,
                                        method="POST"))


def _open(request: urllib.request.Request) -> tuple[int, dict, Any]:
    """(status, JSON answer, headers) of a call, refused or not."""
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()), refused.headers


def _token(base: str, system: str, secret: str) -> dict:
    status, answer, headers = _token_request(base, {"grant_type": "client_credentials"}, (system, secret))
    assert status == 200, answer
    assert headers["Cache-Control"] == "no-store"
    return answer


def _list(base: str, system: str, secret: str, token: str | None) -> tuple[int, dict, Any]:
    client = LgspTestClient(base, system, secret)
    auth = [("Authorization", f"Bearer {token}")] if token is not None else []
    url = urllib.parse.urlsplit(f"{client.base}/v1/getReceivedEdocList?messageType=edoc")
    return _open(urllib.request.Request(url.geturl(), headers=dict([*client.auth(), *auth])))


def _refused_15(answer: tuple[int, dict, Any]) -> None:
    status, body, headers = answer
    assert status == 401 and body["errorCode"] == 15, body
    assert "Authorization: Bearer" in body["errorDesc"] and headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_endpoint_and_the_bearer_token_on_every_call(axis):
    net, secrets, hour, _short = axis
    secret = secrets[SYSTEM]
    # The grant: only client_credentials, only with the system's own secret (in Basic, or in the form).
    assert _token_request(hour, {"grant_type": "password"}, (SYSTEM, secret))[:2] == (
        400, {"error": "unsupported_grant_type", "error_description": "only client_credentials"})
    status, answer, _ = _token_request(hour, {"grant_type": "client_credentials"}, (SYSTEM, "wrong"))
    assert (status, answer["error"]) == (401, "invalid_client")
    status, answer, _ = _token_request(hour, {"grant_type": "client_credentials", "client_id": SYSTEM,
                                              "client_secret": secret}, None)
    assert status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    token = _token(hour, SYSTEM, secret)["access_token"]
    # A good token: the call is answered.
    status, body, _ = _list(hour, SYSTEM, secret, token)
    assert (status, body["errorCode"]) == (200, 0), body
    # Missing, unknown, another system's: 15 under 401; the secret alone is not enough.
    _refused_15(_list(hour, SYSTEM, secret, None))
    _refused_15(_list(hour, SYSTEM, secret, "x" * 43))
    _refused_15(_list(hour, SYSTEM, secret, _token(hour, OTHER_SYSTEM, secrets[OTHER_SYSTEM])["access_token"]))
    # A token does not replace the secret: a wrong secret with a good token is 15 too.
    assert _list(hour, SYSTEM, "wrong", token)[1]["errorCode"] == 15
    # The hub keeps only the tokens' SHA-256: the token is in none of its files.
    for path in Path(net.data_dir).rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_an_expired_token_is_refused(axis):
    net, secrets, _hour, short = axis
    answer = _token(short, SYSTEM, secrets[SYSTEM])
    assert answer["expires_in"] == SHORT
    time.sleep(SHORT + 0.5)   # past its expiry (the server's clock decides)
    _refused_15(_list(short, SYSTEM, secrets[SYSTEM], answer["access_token"]))
    assert "bearer token expired at" in (net.run_dir / "lgsp:short.log").read_text()


def test_the_edge_client_keeps_its_token_and_fetches_another_after_expiry_and_after_a_401(axis):
    net, secrets, hour, short = axis
    secret = secrets[SYSTEM]
    tokens = TokenSource(f"{short}/token", SYSTEM, secret)
    client = LgspClient(short, SYSTEM, secret, ROOT, tokens=tokens)
    client.received("edoc")
    client.received("status")
    assert tokens.fetched == 1                  # kept between calls
    time.sleep(SHORT + 0.5)                     # expired (the client renews a tenth of the lifetime early)
    client.received("edoc")
    assert tokens.fetched == 2
    # The server forgets the tokens (revoked by the operator): the next call is answered 401, the client fetches
    # a new token once and the call succeeds.
    tokens = TokenSource(f"{hour}/token", SYSTEM, secret)
    client = LgspClient(hour, SYSTEM, secret, ROOT, tokens=tokens)
    client.received("edoc")
    store = open_store(net.topology, "H60", CommonSettings(data_dir=net.data_dir))
    assert TokenStore(store.db).revoke(SYSTEM) >= 1
    client.received("edoc")
    assert tokens.fetched == 2
    # Credentials the token endpoint refuses: code 15, the edge's configuration error (it stops and alerts).
    wrong = LgspClient(hour, SYSTEM, "wrong", ROOT, tokens=TokenSource(f"{hour}/token", SYSTEM, "wrong"))
    with pytest.raises(LgspCallError) as refused:
        wrong.received("edoc")
    assert refused.value.code == 15 and "invalid_client" in refused.value.desc
