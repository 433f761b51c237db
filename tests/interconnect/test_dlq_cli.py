"""`congvan dlq list H60` works on the demo without --run-dir (issue 21, item 7): the run directory defaults to
the demo's (var/demo), and a missing one is told in Vietnamese instead of a Python traceback."""

from __future__ import annotations

import json

import pika
import typer
from typer.testing import CliRunner

from services.interconnect import broker, ops_cli
from tests.interconnect.harness import reject_until_dead


def _app() -> typer.Typer:
    app = typer.Typer()
    ops_cli.register(app)
    return app


def test_dlq_list_defaults_to_the_demo_run_dir(provisioned, monkeypatch):
    topology, creds, run_dir = provisioned
    user = broker.hub_user(topology, "H60")
    conn = pika.BlockingConnection(creds.params(user, broker.hub_vhost(topology, "H60")))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        broker.publish(ch, broker.SUBMIT, "", b"<poison/>", user_id=user, message_id="dlq-default")
        reject_until_dead(ch, creds)
    finally:
        conn.close()
    monkeypatch.delenv("CONGVAN_RUN_DIR", raising=False)
    monkeypatch.setattr(ops_cli, "DEMO_RUN_DIR", run_dir)   # where `congvan up` put the demo's credentials
    result = CliRunner().invoke(_app(), ["dlq", "list", "H60"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["message_id"], r["queue"]) for r in rows] == [("dlq-default", "relay")]


def test_dlq_list_without_a_demo_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("CONGVAN_RUN_DIR", raising=False)
    monkeypatch.setattr(ops_cli, "DEMO_RUN_DIR", tmp_path / "no-demo")
    result = CliRunner().invoke(_app(), ["dlq", "list", "H60"])
    assert result.exit_code == 2
    assert "hãy chạy ./congvan up" in result.output and "Traceback" not in result.output
