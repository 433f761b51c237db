"""Operator commands of the interconnect: `congvan dlq list|redrive`, `congvan relaylog verify`.

They read the broker address and passwords from RUN_DIR/credentials.json (written by broker.provision) and
the topology from RUN_DIR/topology.json unless --topology is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from services.common.settings import REPO_ROOT
from services.interconnect import broker
from services.interconnect.domain import H_UNDECODABLE, ORIGINAL_USER, printable
from services.interconnect.topology import Topology

# Where `congvan up` provisions the demo (infra/demo.py DEMO_DIR): the commands work there without --run-dir.
DEMO_RUN_DIR = REPO_ROOT / "var" / "demo"
RUN_DIR = typer.Option(None, "--run-dir", envvar="CONGVAN_RUN_DIR",
                       help="Run directory holding credentials.json (default: the demo's, var/demo)")
TOPOLOGY = typer.Option(None, "--topology", help="Topology file (default: RUN_DIR/topology.json)")


def _load(run_dir: Path | None, topology: Path | None) -> tuple[Topology, broker.Credentials]:
    run_dir = run_dir or DEMO_RUN_DIR
    if not (run_dir / broker.CREDENTIALS_FILE).exists():
        typer.echo(f"Không tìm thấy {run_dir / broker.CREDENTIALS_FILE}: hãy chạy ./congvan up, hoặc chỉ rõ "
                   "--run-dir (thư mục có credentials.json do bước cấp phát broker tạo ra).", err=True)
        raise typer.Exit(2)
    return Topology.load(topology or run_dir / "topology.json"), broker.Credentials.load(run_dir)


def _where(topology: Topology, creds: broker.Credentials, name: str) -> tuple[str, str, str]:
    """(vhost, user, dead-letter queue) of a hub code or an agency organ id."""
    if any(h.code == name for h in topology.hubs):
        return broker.hub_vhost(topology, name), broker.hub_user(topology, name), creds.queue(broker.DEAD_QUEUE)
    return broker.agency_vhost(topology, name), broker.services_user(topology, name), broker.DEAD_QUEUE


def _origin(props: Any) -> tuple[str, str]:
    """(queue, reason) of the latest death. RabbitMQ puts its own newest entry first in x-death; whatever else
    a sender wrote there is not read, and a malformed header reads as no origin (the message stays put)."""
    headers = props.headers if isinstance(props.headers, dict) else {}
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        first = deaths[0]
        return printable(first.get("queue", ""), 255), printable(first.get("reason", ""), 64)
    return "", ""


def dead_letters(topology: Topology, creds: broker.Credentials, name: str) -> list[dict[str, Any]]:
    """Every dead letter of a hub or an agency vhost, read without removing any (all are requeued)."""
    vhost, user, dead = _where(topology, creds, name)
    names = _redrivable(topology, creds, name)
    rows = []
    with broker.confirmed_channel(creds.params(user, vhost)) as (_conn, ch):
        tags = []
        while True:
            method, props, body = ch.basic_get(dead)
            if method is None:
                break
            tags.append(method.delivery_tag)
            queue, reason = _origin(props)
            headers = props.headers if isinstance(props.headers, dict) else {}
            rows.append({"message_id": printable(props.message_id, 128), "queue": names.get(queue, queue),
                         "reason": reason,
                         "size": len(body), "user_id": printable(props.user_id, 64),
                         "headers_unreadable": printable(headers.get(H_UNDECODABLE), 200) or None})
        for tag in tags:
            ch.basic_nack(tag, requeue=True)
    return rows


def redrive(topology: Topology, creds: broker.Credentials, name: str, message_id: str | None) -> int:
    """Put dead letters back on the queue they died in (all of them, or one message id); returns the count."""
    vhost, user, dead = _where(topology, creds, name)
    redrivable = _redrivable(topology, creds, name)
    moved = 0
    with broker.confirmed_channel(creds.params(user, vhost)) as (_conn, ch):
        keep = []
        while True:
            method, props, body = ch.basic_get(dead)
            if method is None:
                break
            queue, _reason = _origin(props)
            if not queue or (message_id and props.message_id != message_id):
                keep.append(method.delivery_tag)
                continue
            if queue not in redrivable:
                keep.append(method.delivery_tag)
                continue
            headers = props.headers if isinstance(props.headers, dict) else {}
            headers = {k: v for k, v in headers.items()
                       if isinstance(k, str) and not k.startswith("x-death") and k != H_UNDECODABLE}
            # The broker stamps our own user on the copy. The hub judges it as the submitter its relay log
            # recorded, never by a header; this one only tells an operator who that was (the dead message's
            # broker-checked user_id, overwriting anything the submitter wrote there).
            if props.user_id != user or not headers.get(ORIGINAL_USER):  # else an earlier redrive wrote it
                headers[ORIGINAL_USER] = printable(props.user_id, 64)
            # Republished through the default exchange straight into the original queue, confirmed, then
            # removed from `dead`: a crash in between leaves a duplicate, which every consumer tolerates.
            message = printable(props.message_id, 128)
            try:
                broker.publish(ch, "", queue, body, user_id=user, message_id=message, headers=headers)
            except (TypeError, ValueError, OverflowError):  # a header pika cannot encode again: leave it behind
                broker.publish(ch, "", queue, body, user_id=user, message_id=message,
                               headers={ORIGINAL_USER: headers[ORIGINAL_USER]})
            ch.basic_ack(method.delivery_tag)
            moved += 1
        for tag in keep:
            ch.basic_nack(tag, requeue=True)
    return moved


def _redrivable(topology: Topology, creds: broker.Credentials, name: str) -> dict[str, str]:
    """The queues a dead letter of `name` may go back to (its own consumers' queues, nothing a sender names),
    each broker name (with its secret tag) mapped to the base name an operator reads."""
    if any(h.code == name for h in topology.hubs):
        queues = {broker.RELAY_QUEUE, broker.UPSTREAM_QUEUE}
        queues |= {broker.down_queue(child) for child in broker.children(topology, name)}
        queues |= {broker.inbox_queue(a.organ_id) for a in topology.installations_of(name)}
        return {creds.queue(q): q for q in queues}
    return {broker.EDGE_OUTGOING: broker.EDGE_OUTGOING}


def register(app: typer.Typer) -> None:
    dlq = typer.Typer(help="Gói tin bị chuyển vào hàng đợi lỗi (dead letters).", no_args_is_help=True)
    relaylog_app = typer.Typer(help="Nhật ký chuyển tiếp của trục liên thông.", no_args_is_help=True)
    app.add_typer(dlq, name="dlq")
    app.add_typer(relaylog_app, name="relaylog")

    @dlq.command("list")
    def dlq_list(name: str = typer.Argument(..., help="Mã trục (H60, national) hoặc mã định danh cơ quan"),
                 run_dir: Path | None = RUN_DIR, topology: Path | None = TOPOLOGY) -> None:
        """Liệt kê các gói tin trong hàng đợi lỗi."""
        topo, creds = _load(run_dir, topology)
        rows = dead_letters(topo, creds, name)
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        typer.echo(f"{len(rows)} gói tin trong hàng đợi lỗi của {name}.", err=True)

    @dlq.command("redrive")
    def dlq_redrive(name: str = typer.Argument(...), message_id: str | None = typer.Option(None, "--message-id"),
                    run_dir: Path | None = RUN_DIR, topology: Path | None = TOPOLOGY) -> None:
        """Đưa gói tin từ hàng đợi lỗi trở lại hàng đợi ban đầu để xử lý lại."""
        topo, creds = _load(run_dir, topology)
        typer.echo(f"Đã đưa lại {redrive(topo, creds, name, message_id)} gói tin vào hàng đợi xử lý.")

    @relaylog_app.command("verify")
    def relaylog_verify(hub: str = typer.Argument(..., help="Mã trục: H60, national"), run_dir: Path | None = RUN_DIR,
                        topology: Path | None = TOPOLOGY) -> None:
        """Kiểm tra chuỗi băm của nhật ký chuyển tiếp; mã thoát 1 nếu có bản ghi bị sửa, xóa hoặc chèn."""
        from services.common.db import Database
        from services.common.settings import CommonSettings
        from services.interconnect.models import HubBase
        from services.interconnect.relaylog import RelayLog

        run_dir = run_dir or DEMO_RUN_DIR
        topo = Topology.load(topology or run_dir / "topology.json")
        db = Database("hub", f"{broker.namespace(topo)}hub.{hub}", HubBase.metadata,
                      CommonSettings(data_dir=run_dir / "data"))
        try:
            log = RelayLog(db, f"hub.{hub}")
            problems = log.verify()
            seq, head = log.head()
        finally:
            db.dispose()
        for p in problems:
            typer.echo(f"[{p.kind}] {p.message_vi}")
        if problems:
            raise typer.Exit(1)
        typer.echo(f"Nhật ký chuyển tiếp của trục {hub} toàn vẹn: {seq} bản ghi, mã băm cuối {head}.")
