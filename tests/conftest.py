"""Fixtures over the real infrastructure started by the project's own scripts (infra/stack.py).

`congvan test` starts the test stack and exports its URLs. Running `pytest tests/...` by hand works too:
the `stack_env` fixture then reuses a running stack (`congvan stack up`) or starts one for the session.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.testrun import make_test_stack
from services.common.rabbit_admin import RabbitAdmin
from tests.agency import own_vhost

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def stack_env() -> Iterator[dict[str, str]]:
    if os.environ.get("RABBIT_API_URI"):
        yield dict(os.environ)
        return
    stack = make_test_stack()
    started = False
    if not stack.running().get("rabbitmq"):
        stack.stop()
        stack.start()
        started = True
    env = stack.env()
    os.environ.update(env)
    try:
        yield env
    finally:
        if started:
            stack.stop()


@pytest.fixture(scope="session")
def rabbit_admin(stack_env) -> Iterator[RabbitAdmin]:
    admin = RabbitAdmin(stack_env["RABBIT_API_URI"])
    yield admin
    admin.close()


@pytest.fixture
def fresh_vhost(rabbit_admin, stack_env) -> Iterator[str]:
    """An empty vhost for one test, with the admin allowed everywhere; its AMQP URI is returned."""
    with own_vhost(rabbit_admin, stack_env) as uri:
        yield uri


@pytest.fixture(scope="session")
def pg_admin_url(stack_env) -> str:
    return stack_env["TEST_DATABASE_URL"]


@pytest.fixture
def pg_url(pg_admin_url) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (dropped afterwards), so parallel runs never collide."""
    import sqlalchemy as sa

    name = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = pg_admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def s3_config(stack_env) -> dict[str, str]:
    return {"endpoint": stack_env["S3_TEST_ENDPOINT"], "access_key": stack_env["S3_TEST_ACCESS_KEY"],
            "secret_key": stack_env["S3_TEST_SECRET_KEY"]}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `eventlet` run in-process nameko containers and hang without monkey-patching. `congvan test`
    runs them in their own patched session (infra/pytest_eventlet.py) and deselects them here; a hand-run
    `pytest tests/<area>` must not hang on them either, so they are skipped with the reason."""
    import eventlet.patcher

    if eventlet.patcher.is_monkey_patched("socket"):
        return
    skip = pytest.mark.skip(reason="needs eventlet monkey-patching: python -m infra.pytest_eventlet -m eventlet")
    for item in items:
        if "eventlet" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def deployment(stack_env, tmp_path_factory):
    """The demo topology as real processes on the test broker (namespaced vhosts, free ports), seeded with the
    demo's accounts; one per test run, shared by every end-to-end and screen test. Tests create their own data."""
    from tests.deployment import start_deployment

    yield from start_deployment(stack_env, tmp_path_factory)


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port: (inbox, port) (tests/mail_server.py)."""
    from tests.mail_server import running_smtp

    with running_smtp() as found:
        yield found


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module's browser tests; each test opens its own contexts. Module scope, not session:
    Playwright's sync API keeps an asyncio loop running in this thread while it is open, and pyHanko's
    asyncio.run() in later tests would fail."""
    from tests.browser import launched

    with launched() as b:
        yield b
