"""`congvan report hubs`: the operator's per-hub report and the province's usage per agency (relay logs)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

RUN_DIR = typer.Option(..., "--run-dir", envvar="CONGVAN_RUN_DIR", help="Thư mục chạy (chứa topology.json, data/)")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def register(app: typer.Typer) -> None:
    report_app = typer.Typer(help="Báo cáo, thống kê.", no_args_is_help=True)
    app.add_typer(report_app, name="report")

    @report_app.command("hubs")
    def hubs(run_dir: Path = RUN_DIR, topology: Path | None = typer.Option(None, "--topology"),
             date_from: str | None = typer.Option(None, "--from", help="Từ ngày (YYYY-MM-DD)"),
             date_to: str | None = typer.Option(None, "--to", help="Đến ngày (YYYY-MM-DD)"),
             as_json: bool = typer.Option(False, "--json", help="In kết quả dạng JSON")) -> None:
        """Gói tin đã gửi, đã nhận, bị từ chối theo lý do và thời gian chuyển trung vị của từng trục."""
        from services.interconnect.hub_report import hubs_report
        from services.interconnect.topology import Topology

        topo = Topology.load(topology or run_dir / "topology.json")
        report = hubs_report(topo, run_dir, _day(date_from), _day(date_to))
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
            return
        typer.echo("Trục        Gửi   Nhận  Từ chối  Trung vị (giây)  Lý do từ chối")
        for h in report["hubs"]:
            median = "" if h["median_delivery_seconds"] is None else f"{h['median_delivery_seconds']:.3f}"
            reasons = ", ".join(f"{k}: {v}" for k, v in h["rejected_by_reason"].items())
            typer.echo(f"{h['hub']:<10} {h['sent']:>5} {h['received']:>6} {h['rejected']:>8} {median:>16}  {reasons}")
        typer.echo("\nCơ quan          Gửi   Nhận  Bị từ chối  Tên")
        for a in report["agencies"]:
            typer.echo(f"{a['organ_id']:<15} {a['sent']:>5} {a['received']:>6} {a['rejected']:>11}  {a['name']}")
