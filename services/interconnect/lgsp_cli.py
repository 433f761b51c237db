"""Operator commands of the LGSP connection (`congvan lgsp …`):

- a hub's LGSP API: `system-add` gives an LGSP client its system id's secret (generated, shown once, kept only as
  its SHA-256) and the agencies it sends for; `systems` lists them (axis_cli.py, shared with `congvan vdxp`);
- an installation on an LGSP: `edge-status --agency ORGAN_ID` shows how it reaches the axis (the topology's `hub`
  and `extra.axis_clients`: endpoint, system id; the secret is only ever in the edge's environment) and where its
  edge stands: packages waiting and their tries, those the axis refused and why, a configuration error (15, 19),
  acknowledgements still owed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from services.common.clock import VN_TZ
from services.interconnect.axis_cli import RUN_DIR, systems_app
from services.interconnect.topology import CLIENT_AXES, Topology
from services.interconnect.vdxp_store import LGSP


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "ngay"
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def edge_status_text(topology: Topology, organ_id: str, data_dir: Path) -> str:
    from sqlalchemy import select

    from services.common.db import Database
    from services.common.settings import CommonSettings
    from services.interconnect import lgsp
    from services.interconnect.models import EdgeAxisAck, EdgeAxisSend, EdgeBase, EdgeOutbox

    spec = topology.agency(organ_id)
    lines = [f"Cơ quan: {organ_id} ({spec.name})"]
    if spec.hub not in CLIENT_AXES:
        return "\n".join([*lines, f"Kết nối trục: trục {spec.hub} của hệ thống qua RabbitMQ (không qua LGSP)."])
    client = topology.axis_client(organ_id)
    lines += [f"Kết nối trục: {spec.hub.upper()} (cổng liên thông {topology.edge_module(organ_id)})",
              f"Địa chỉ trục ({{base}}): {client.get('endpoint') or '(trên dòng lệnh của cổng)'}",
              f"Mã hệ thống (X-SystemId): {client.get('system_id') or '(trên dòng lệnh của cổng)'}",
              f"Khóa bí mật (X-SecretKey): biến môi trường {spec.hub.upper()}_SECRET của cổng, không in ra"]
    db = Database("edge", organ_id, EdgeBase.metadata, CommonSettings(data_dir=data_dir))
    try:
        db.create_all()
        with db.session() as s:
            rows = s.execute(select(EdgeOutbox, EdgeAxisSend).outerjoin(
                EdgeAxisSend, EdgeAxisSend.message_id == EdgeOutbox.message_id).where(
                EdgeOutbox.sent_at.is_(None)).order_by(EdgeOutbox.created_at)).all()
            owed = list(s.scalars(select(EdgeAxisAck).where(EdgeAxisAck.acked_at.is_(None))))
    finally:
        db.dispose()
    waiting = [(o, a) for o, a in rows if a is None or a.outcome is None]
    refused = [(o, a) for o, a in rows if a is not None and a.outcome == "refused"]
    lines.append(f"Chờ gửi: {len(waiting)} gói tin")
    for outbox, tried in waiting:
        if tried is not None and tried.attempts:
            lines.append(f"    {outbox.kind} {outbox.document_id}: đã thử {tried.attempts} lần, thử lại "
                         f"{_when(tried.next_at)}; lỗi gần nhất: {tried.detail}")
    configuration = [a for _o, a in waiting if a is not None and a.code in (lgsp.Code.UNAUTHENTICATED,
                                                                             lgsp.Code.SENDER_NOT_REGISTERED)]
    if configuration:
        lines.append(f"LỖI CẤU HÌNH (mã {configuration[-1].code}): {configuration[-1].detail}. Cổng dừng gọi trục; "
                     "sửa cấu hình rồi khởi động lại cổng.")
    lines.append(f"Trục từ chối hẳn: {len(refused)} gói tin")
    for outbox, tried in refused:
        lines.append(f"    {outbox.kind} {outbox.document_id} → {outbox.recipients}: {tried.detail}")
    lines.append(f"Hồi báo updateStatus chưa gửi được: {len(owed)}")
    for ack in owed:
        lines.append(f"    {ack.doc_id} {ack.status}: đã thử {ack.attempts} lần, thử lại {_when(ack.next_at)}"
                     + (f"; lỗi gần nhất: {ack.detail}" if ack.detail else ""))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    lgsp_app = systems_app(LGSP, "Kết nối qua trục LGSP (nền tảng tích hợp, chia sẻ dữ liệu cấp tỉnh).", None,
                           "chỉ lưu mã băm SHA-256 tại trục, hệ thống gửi khóa trong X-SecretKey")

    @lgsp_app.command("edge-status")
    def edge_status(agency: str = typer.Option(..., "--agency", help="Mã định danh của cơ quan (cụm máy chủ)"),
                    run_dir: Path = RUN_DIR) -> None:
        """Cấu hình trục LGSP của một cơ quan và tình trạng gửi, nhận của cổng liên thông (không in khóa bí mật)."""
        topology = Topology.load(run_dir / "topology.json")
        if agency not in {a.organ_id for a in topology.agencies}:
            typer.echo(f"Cơ quan {agency} không có trong {run_dir / 'topology.json'}.", err=True)
            raise typer.Exit(1)
        typer.echo(edge_status_text(topology, agency, run_dir / "data"))

    app.add_typer(lgsp_app, name="lgsp")
