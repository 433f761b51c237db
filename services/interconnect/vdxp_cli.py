"""Operator commands of a hub's VDXP API: `congvan vdxp system-add`, `congvan vdxp systems` (axis_cli.py).

A vendor system gets its id and a generated secret here (shown once: the operator hands it over like any
credential); the running API binds the system's agencies and enters them in the hub's directory within seconds.
"""

from __future__ import annotations

import typer

from services.interconnect.axis_cli import systems_app
from services.interconnect.vdxp_store import VDXP


def register(app: typer.Typer) -> None:
    app.add_typer(systems_app(VDXP, "Hệ thống kết nối trục qua API VDXP (SDK của Văn phòng Chính phủ).", "national",
                              "lưu tại trục để tính lại HMAC, không bao giờ gửi qua mạng"), name="vdxp")
