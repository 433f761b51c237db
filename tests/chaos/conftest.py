"""Fixtures of the chaos job: tests that restart the broker get a RabbitMQ of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack import Stack, free_stack_ports


@pytest.fixture
def chaos_stack(tmp_path: Path) -> Iterator[Stack]:
    """A RabbitMQ of this test alone (it gets restarted), stopped and removed whatever happens."""
    stack = Stack("cvchaos", tmp_path / "stack", free_stack_ports())
    try:
        stack.start(rabbitmq=True, postgres=False, s3=False, prometheus=False)
        yield stack
    finally:
        stack.stop()
