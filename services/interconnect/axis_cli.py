"""Operator commands shared by a hub's HTTP APIs (`congvan vdxp …`, `congvan lgsp …`): provisioning a connected
system with the agencies it speaks for (its secret generated then and shown once), and listing them. The running
API binds the system's agencies and enters them in the hub's directory within seconds (axis_api.SystemsApi)."""

from __future__ import annotations

from pathlib import Path

import typer

from services.common.settings import CommonSettings
from services.interconnect.topology import Topology

RUN_DIR = typer.Option(..., "--run-dir", envvar="CONGVAN_RUN_DIR", help="Run directory of the hubs")


def open_run_store(run_dir: Path, hub: str):
    from services.interconnect.axis_api import open_store

    topology = Topology.load(run_dir / "topology.json")
    return open_store(topology, hub, CommonSettings(data_dir=run_dir / "data"))


def systems_app(protocol: str, help_text: str, default_hub: str | None, how_kept: str) -> typer.Typer:
    """`system-add` and `systems` for the systems of one protocol (vdxp_store.VDXP, LGSP) at a hub (`--hub`,
    required where there is no `default_hub`)."""
    app = typer.Typer(help=help_text, no_args_is_help=True)
    hub_option = typer.Option(default_hub or ..., "--hub", help=f"The hub whose {protocol.upper()} API the system "
                              "uses")

    @app.command("system-add")
    def system_add(system_id: str, agency: list[str] = typer.Option(..., "--agency", help="Mã định danh"),
                   name: str = typer.Option("", "--name"), hub: str = hub_option, run_dir: Path = RUN_DIR) -> None:
        """Cấp (hoặc cấp lại) khóa bí mật cho một hệ thống và gán các cơ quan nó được gửi thay."""
        from services.interconnect.axis import Refusal

        store = open_run_store(run_dir, hub)
        try:
            secret = store.add_system(system_id, name, protocol=protocol)
            for organ in agency:
                store.grant(system_id, organ)
        except Refusal as refused:
            typer.echo(f"Không thực hiện được: {refused.desc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"Hệ thống: {system_id}\nKhóa bí mật (chỉ hiện một lần): {secret}\n"
                   f"Cơ quan: {', '.join(agency)}")

    @app.command("systems")
    def systems(hub: str = hub_option, run_dir: Path = RUN_DIR) -> None:
        """Các hệ thống và cơ quan đã đăng ký (không in khóa bí mật)."""
        store = open_run_store(run_dir, hub)
        listed = store.system_names(protocol)
        for system_id, name in listed:
            organs = [a.organ_id + ("" if a.bound else " (chưa gắn)") for a in store.agencies(system_id)]
            typer.echo(f"{system_id}{f' ({name})' if name else ''}: {', '.join(organs) or '(chưa có cơ quan)'}")
        if listed:
            typer.echo(f"Khóa bí mật: {how_kept}")

    return app
