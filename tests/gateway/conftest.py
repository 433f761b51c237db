from __future__ import annotations

import re

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
