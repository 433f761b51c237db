"""Operator commands of a hub's VDXP API: `congvan vdxp system-add`, `congvan vdxp systems`.

A vendor system gets its id and a generated secret here (shown once: the operator hands it over like any
credential); the running API binds the system's agencies and enters them in the hub's directory within seconds.
"""

from __future__ import annotations

from pathlib import Path

import typer

from services.common.settings import CommonSettings
from services.interconnect.topology import Topology

RUN_DIR = typer.Option(..., "--run-dir", envvar="CONGVAN_RUN_DIR", help="Run directory of the hubs")
HUB = typer.Option("national", "--hub", help="The hub whose VDXP API the system connects to")


def _store(run_dir: Path, hub: str):
    from services.interconnect.vdxp_api import open_store

    topology = Topology.load(run_dir / "topology.json")
    return open_store(topology, hub, CommonSettings(data_dir=run_dir / "data"))


def register(app: typer.Typer) -> None:
    vdxp_app = typer.Typer(help="Hệ thống kết nối trục qua API VDXP (SDK của Văn phòng Chính phủ).",
                           no_args_is_help=True)

    @vdxp_app.command("system-add")
    def system_add(system_id: str, agency: list[str] = typer.Option(..., "--agency", help="Mã định danh"),
                   name: str = typer.Option("", "--name"), hub: str = HUB, run_dir: Path = RUN_DIR) -> None:
        """Cấp (hoặc cấp lại) khóa bí mật cho một hệ thống và gán các cơ quan nó được gửi thay."""
        store = _store(run_dir, hub)
        secret = store.add_system(system_id, name)
        for organ in agency:
            store.grant(system_id, organ)
        typer.echo(f"Hệ thống: {system_id}\nKhóa bí mật (chỉ hiện một lần): {secret}\n"
                   f"Cơ quan: {', '.join(agency)}")

    @vdxp_app.command("systems")
    def systems(hub: str = HUB, run_dir: Path = RUN_DIR) -> None:
        """Các hệ thống và cơ quan đã đăng ký (không in khóa bí mật)."""
        store = _store(run_dir, hub)
        for system_id in store.systems():
            organs = [a.organ_id + ("" if a.bound else " (chưa gắn)") for a in store.agencies(system_id)]
            typer.echo(f"{system_id}: {', '.join(organs) or '(chưa có cơ quan)'}")

    app.add_typer(vdxp_app, name="vdxp")
