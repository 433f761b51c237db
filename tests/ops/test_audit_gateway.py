"""The gateway's own tables are in the audit chain: the real gateway app (in-process, real SQLite file or PostgreSQL
schema) records an administrator's account and unit changes under the administrator's id and the page used, masks
password hashes and session secrets, leaves login attempts and their counters out, and `congvan audit verify`
finds the gateway's chain and a changed row in it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, update

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.common import audit, audit_verify
from tests.ops.test_audit_agency import tamper

H60 = "000.00.00.H60"
PASSWORD = "Mat-khau-2026!"


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway(request, tmp_path):
    """(the app, the environment `congvan audit` runs with)."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT", "DATABASE_URL")}
    env["DATA_DIR"] = str(data_dir)
    database_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    if database_url:
        env["DATABASE_URL"] = database_url
    app = create_app(GatewaySettings(data_dir=data_dir, database_url=database_url, agencies_file=None))
    try:
        yield app, env
    finally:
        app.state.gateway.db.dispose()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def rows(app) -> list[dict]:
    return audit_verify.entries(app.state.gateway.db, limit=1000)


def test_admin_changes_are_chained_with_the_admin_as_actor_and_tampering_is_found(gateway):
    app, env = gateway
    accounts = app.state.gateway.accounts
    admin = accounts.create_user(username="manhhd.vp", full_name="Hoàng Đức Mạnh", agency_id=H60, roles=["admin"],
                                 password=PASSWORD, unit="VP", must_change_password=False)
    accounts.create_user(username="hoalt.vp", full_name="Lê Thị Hoa", agency_id=H60, roles=["clerk"],
                         password=PASSWORD, unit="VP", must_change_password=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # Someone guesses the clerk's password twice: no audit row (counter and login events are not chained).
        before_guesses = len(rows(app))
        for _ in range(2):
            assert client.post("/dang-nhap", data={"username": "hoalt.vp", "password": "sai-mat-khau",
                                                   "next": "/"}, follow_redirects=False).status_code == 401
        assert len(rows(app)) == before_guesses
        assert accounts.by_username("hoalt.vp").failed_logins == 2      # the counter did change

        login = client.post("/dang-nhap", data={"username": "manhhd.vp", "password": PASSWORD, "next": "/"},
                            follow_redirects=False)
        assert login.status_code == 303
        page = client.get("/quan-tri/nguoi-dung")
        assert page.status_code == 200
        created = client.post("/quan-tri/nguoi-dung", data={
            "csrf_token": csrf_of(page.text), "full_name": "Trần Thị Kiểm Toán", "unit": "TH",
            "position": "Chuyên viên", "roles": ["specialist"]})
        new_user = next(u for u in accounts.list_users(H60) if u.full_name == "Trần Thị Kiểm Toán")
        assert created.status_code == 200 and new_user.username in created.text, created.text[:1500]
        units = client.get("/quan-tri/don-vi")
        saved = client.post("/quan-tri/don-vi", data={"csrf_token": csrf_of(units.text), "code": "th",
                                                      "name": "Phòng Tổng hợp"}, follow_redirects=False)
        assert saved.status_code == 200 and "chưa đồng bộ" in saved.text  # saved; no routing behind this gateway

    chain = rows(app)
    user_row = next(r for r in chain if r["entity"] == "users" and r["entity_id"] == new_user.id)
    assert (user_row["action"], user_row["actor"], user_row["agency"]) == ("insert", admin.id, H60)
    details = json.loads(user_row["details"])
    assert details["via"] == "POST /quan-tri/nguoi-dung"
    assert details["values"]["username"] == new_user.username and details["values"]["password_hash"] == "***"
    unit_row = next(r for r in chain if r["entity"] == "units")
    assert (unit_row["action"], unit_row["actor"]) == ("insert", admin.id)
    assert json.loads(unit_row["details"])["values"]["name"] == "Phòng Tổng hợp"
    assert any(r["entity"] == "admin_events" and r["actor"] == admin.id for r in chain)

    # Outside a signed-in request (seeding, a login opening its session): the gateway's system actor.
    seeded = next(r for r in chain if r["entity"] == "users" and r["entity_id"] == admin.id)
    assert seeded["actor"] == "system:gateway"
    opened = next(r for r in chain if r["entity"] == "sessions" and r["action"] == "insert")
    assert json.loads(opened["details"])["values"]["csrf_token"] == "***"
    assert opened["actor"] == "system:gateway"
    # No secret is ever copied: no argon2 hash anywhere, no login attempt.
    assert not any("$argon2" in r["details"] for r in chain)
    assert not any(r["entity"] == "login_events" for r in chain)
    assert not any("failed_logins" in r["details"] for r in chain if r["action"] == "update")

    code, reports = verify_cli(env)
    mine = [r for r in reports if "gateway" in r["where"]]
    assert code == 0 and len(mine) == 1 and mine[0]["rows"] == len(chain) and not mine[0]["problems"], reports

    # Someone with database access rewrites who created the account: verify names the row.
    table = audit.make_audit_table(MetaData())
    tamper(app.state.gateway.db.engine,
           update(table).where(table.c.seq == user_row["seq"]).values(actor="system:gateway"))
    code, reports = verify_cli(env)
    mine = next(r for r in reports if "gateway" in r["where"])
    assert code == 1
    assert [(p["seq"], p["kind"]) for p in mine["problems"]] == [(user_row["seq"], "changed")]


def verify_cli(env: dict[str, str]) -> tuple[int, list[dict]]:
    done = subprocess.run([sys.executable, "-m", "infra.cli", "audit", "verify", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)
