"""Fixtures of the chaos job: its tests restart the broker, so they get a RabbitMQ of their own.

One for the whole job (starting and stopping a RabbitMQ costs ~15 s on 2 cores), never the shared test stack.
Each test works in vhosts of its own on it (`chaos_vhost`, or the namespaced topology of tests/chaos/test_chaos.py),
removed afterwards, so nothing a test leaves queued reaches the next one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from infra.stack import Stack, free_stack_ports
from services.common.rabbit_admin import RabbitAdmin


@pytest.fixture(scope="session")
def chaos_broker(tmp_path_factory) -> Iterator[Stack]:
    stack = Stack("cvchaos", tmp_path_factory.mktemp("chaos") / "stack", free_stack_ports())
    try:
        stack.start(rabbitmq=True, postgres=False, s3=False, prometheus=False)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def chaos_stack(chaos_broker: Stack) -> Stack:
    """The chaos job's own RabbitMQ, up (a test before may have failed while it was restarting)."""
    chaos_broker.wait_rabbitmq()
    return chaos_broker


@pytest.fixture
def chaos_admin(chaos_stack: Stack) -> Iterator[RabbitAdmin]:
    with _admin(chaos_stack) as admin:
        yield admin


@pytest.fixture
def chaos_vhost(chaos_stack: Stack) -> Iterator[str]:
    """An empty vhost on the chaos broker for one test, the admin allowed everywhere; its AMQP URI."""
    name = f"chaos-{secrets.token_hex(4)}"
    env = chaos_stack.env()
    with _admin(chaos_stack) as admin:
        admin.add_vhost(name)
        admin.set_permissions(name, env["RABBIT_ADMIN_USER"])
    yield env["AMQP_ADMIN_URI"] + name
    chaos_stack.wait_rabbitmq()
    with _admin(chaos_stack) as admin:  # a new connection: the test restarted the broker under the old one
        admin.delete_vhost(name)


@contextmanager
def _admin(stack: Stack) -> Iterator[RabbitAdmin]:
    admin = RabbitAdmin(stack.env()["RABBIT_API_URI"])
    try:
        yield admin
    finally:
        admin.close()
