"""The gateway with several worker processes (issue 16: as many workers as cores): `python -m gateway --workers 2`
on PostgreSQL. A person signed in through one worker is signed in on the other (the session is in the database,
not in a worker's memory), signing out through one ends the session on both, and the one /metrics listener sums
the requests of both workers.

Which worker answers a connection is read from the kernel (`ss`: the process owning the server side of it), so
each step is made on a connection known to be served by the worker the step needs."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from gateway.auth import Accounts
from gateway.models import open_database
from gateway.settings import GatewaySettings
from infra import procs
from tests.e2e.helpers import csrf_of, wait_for

USERNAME, PASSWORD = "lannt.vp", "Mat-khau-rat-dai-2026!"
AGENCY = "000.00.00.H60"


@pytest.fixture
def two_workers(pg_url, tmp_path) -> Iterator[tuple[int, int]]:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": pg_url, "GATEWAY_WORKERS": "2"}
    for name in ("AGENCY_ID", "AGENCIES_FILE", "PUSH_ENABLED", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    settings = GatewaySettings(data_dir=tmp_path, database_url=pg_url)
    database = open_database(settings)
    database.create_all()
    Accounts(database).create_user(username=USERNAME, full_name="Nguyễn Thị Lan", agency_id=AGENCY,
                                   roles=["clerk"], password=PASSWORD, unit="VP", must_change_password=False)
    database.dispose()
    port, metrics_port = procs.free_port(), procs.free_port()
    log = open(tmp_path / "gateway.log", "wb")  # noqa: SIM115 - closed below
    # No --workers: GATEWAY_WORKERS is the setting under test.
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "--port", str(port), "--metrics-port", str(metrics_port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        procs.wait_until(lambda: procs.http_ok(f"http://127.0.0.1:{port}/healthz"), 120, "gateway with 2 workers")
        yield port, metrics_port
    finally:
        procs.stop(procs.Proc("gateway", proc.pid), grace=15)
        log.close()
        print((tmp_path / "gateway.log").read_text(errors="replace")[-3000:])


def test_every_table_is_made_before_the_workers_start(pg_url, tmp_path):
    """Two workers creating a table together race on PostgreSQL, and the loser dies at start-up (seen: a duplicate
    `problem_reports`, then every connection reached the one worker left)."""
    import sqlalchemy as sa

    from gateway.__main__ import prepare_database
    from gateway.idempotency import IdempotencyBase
    from gateway.models import Base
    from gateway.problem_models import ProblemBase

    prepare_database(GatewaySettings(data_dir=tmp_path, database_url=pg_url))
    engine = sa.create_engine(pg_url)
    try:
        made = set(sa.inspect(engine).get_table_names(schema="gateway__gateway"))  # models.open_database
    finally:
        engine.dispose()
    wanted = {t.name for metadata in (Base.metadata, IdempotencyBase.metadata, ProblemBase.metadata)
              for t in metadata.sorted_tables}
    assert wanted - made == set()


def worker_of(conn: http.client.HTTPConnection, port: int) -> int:
    """The pid of the process holding the server side of this (connected) connection. Until a worker accepts it
    (on a busy machine, a while after the client connected) it waits in the listening socket's queue and no
    process owns it: asked again until one does."""
    local = conn.sock.getsockname()[1]

    def owner() -> int | None:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} and dport = :{local} )"],
                             capture_output=True, text=True, check=True).stdout
        found = re.search(r"pid=(\d+)", out)
        return int(found.group(1)) if found else None

    return wait_for(owner, 60, f"a worker accepting the connection from port {local}", every=0.05)


def connections_by_worker(port: int) -> dict[int, http.client.HTTPConnection]:
    """One open connection to each of the two workers (the kernel spreads new connections among them). The gateway
    answered /healthz through one worker; the other may still be starting on a loaded machine: asked for two
    minutes."""
    found: dict[int, http.client.HTTPConnection] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        pid = worker_of(conn, port)
        if pid in found:
            conn.close()
            time.sleep(0.05)
        else:
            found[pid] = conn
        if len(found) == 2:
            return found
    raise AssertionError(f"two minutes of connections all reached the same worker: {list(found)}")


def call(conn: http.client.HTTPConnection, method: str, path: str, cookie: str = "", body: str = "",
         headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    sent = {**(headers or {}), **({"Cookie": cookie} if cookie else {})}
    if body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body.encode() or None, headers=sent)
    response = conn.getresponse()
    response.text = response.read().decode()  # type: ignore[attr-defined]
    return response


def test_a_sign_in_on_one_worker_holds_on_the_other(two_workers):
    port, metrics_port = two_workers
    by_worker = connections_by_worker(port)
    (first_pid, first), (second_pid, second) = by_worker.items()
    assert first_pid != second_pid
    try:
        signed = call(first, "POST", "/dang-nhap", body=f"username={USERNAME}&password={PASSWORD}&next=/")
        assert signed.status == 303, signed.text
        cookie = signed.getheader("set-cookie").split(";", 1)[0]
        assert worker_of(first, port) == first_pid

        # The other worker knows the session: pages and API, several times, alternating workers.
        for conn in (second, first, second, first, second):
            me = call(conn, "GET", "/api/v1/me", cookie)
            assert me.status == 200, me.text
            assert json.loads(me.text)["username"] == USERNAME
        form = call(second, "GET", "/doi-mat-khau", cookie)
        assert form.status == 200 and "Đổi mật khẩu" in form.text
        assert worker_of(second, port) == second_pid

        # The CSRF value of the session, read on one worker, is accepted on the other; signing out there ends
        # the session on both.
        csrf = csrf_of(form.text)
        out = call(first, "POST", "/dang-xuat", cookie, body=f"csrf_token={csrf}")
        assert out.status == 303 and out.getheader("location") == "/dang-nhap"
        for conn in (second, first):
            assert call(conn, "GET", "/api/v1/me", cookie).status == 401
            gone = call(conn, "GET", "/doi-mat-khau", cookie)
            assert gone.status == 303 and gone.getheader("location").startswith("/dang-nhap")
    finally:
        for conn in by_worker.values():
            conn.close()

    # The one /metrics listener sums both workers: 7 calls of /api/v1/me (5 signed in, 2 refused).
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    counted = {status: float(n) for status, n in re.findall(
        r'congvan_http_requests_total\{method="GET",route="/api/v1/me",status="(\dxx)"\} ([0-9.e+]+)', metrics)}
    assert counted == {"2xx": 5.0, "4xx": 2.0}, counted


def test_the_default_is_as_many_workers_as_cores():
    from gateway.__main__ import default_workers

    assert default_workers() == len(os.sched_getaffinity(0))
    assert GatewaySettings(_env_file=None, gateway_workers=0).gateway_workers == 0  # 0: the cores


def test_a_token_revoked_by_the_administrator_on_one_worker_is_refused_on_the_other(two_workers, pg_url, tmp_path):
    """Tokens are checked against the database at every call (no worker keeps a copy): the administrator revokes a
    person's token through one worker and the next call with it is refused on both."""
    port, _metrics_port = two_workers
    database = open_database(GatewaySettings(data_dir=tmp_path, database_url=pg_url))
    try:
        accounts = Accounts(database)
        admin = accounts.create_user(username="manhhd.vp", full_name="Hoàng Đức Mạnh", agency_id=AGENCY,
                                     roles=["admin"], password=PASSWORD, unit="VP", must_change_password=False)
        owner_id = accounts.by_username(USERNAME).id
        lost = {"Authorization": f"Bearer {accounts.issue_api_token(owner_id, 'điện thoại bị mất')}"}
        as_admin = {"Authorization": f"Bearer {accounts.issue_api_token(admin.id, 'quản trị')}"}
        token_id = accounts.list_api_tokens(owner_id)[0]["id"]
    finally:
        database.dispose()
    by_worker = connections_by_worker(port)
    first, second = by_worker.values()
    try:
        for conn in (first, second):
            assert call(conn, "GET", "/api/v1/me", headers=lost).status == 200
        revoked = call(first, "POST", f"/api/v1/users/{owner_id}/tokens/{token_id}/revoke", headers=as_admin)
        assert revoked.status == 200, revoked.text
        for conn in (second, first):
            refused = call(conn, "GET", "/api/v1/me", headers=lost)
            assert refused.status == 401 and "đã bị thu hồi" in refused.text
    finally:
        for conn in by_worker.values():
            conn.close()
