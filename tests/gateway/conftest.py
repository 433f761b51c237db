from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings

PASSWORD = "Mat-khau-2026!"


@pytest.fixture
def gateway_app(tmp_path):
    settings = GatewaySettings(data_dir=tmp_path, agencies_file=None, lockout_failures=3, lockout_minutes=15)
    app = create_app(settings)
    accounts = app.state.gateway.accounts
    accounts.create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id="000.00.00.H60", roles=["clerk"],
                         password=PASSWORD, unit="VP", must_change_password=False)
    accounts.create_user(username="anhnv.vp", full_name="Nguyễn Văn Anh", agency_id="000.00.00.H60",
                         roles=["specialist"], password=PASSWORD, unit="VP", must_change_password=True)
    return app


@pytest.fixture
def client(gateway_app):
    with TestClient(gateway_app, base_url="http://127.0.0.1") as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/dang-nhap", data={"username": username, "password": password, "next": "/"},
                       follow_redirects=False)


@contextmanager
def serving(app, port: int) -> Iterator[str]:
    """The gateway app in-process under uvicorn on `port` (a free one), for Chromium: yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # a start-up wait, not an assertion on time
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
