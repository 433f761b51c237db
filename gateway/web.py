"""Pages of the staff web app (server-rendered, Vietnamese)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from gateway.app import Gateway, Viewer, gw, render, viewer
from services.common.errors import CongVanError


@dataclass
class Panel:
    title: str
    rows: list[dict[str, Any]] | None = field(default_factory=list)
    error: str | None = None
    link: str | None = None


def panel(g: Gateway, v: Viewer, title: str, service: str, method: str, link: str | None = None,
          **kwargs: Any) -> Panel:
    """One list of the home page; a service that does not answer shows its error instead of hiding the panel."""
    try:
        result = g.backends.call(v.actor, service, method, **kwargs)
    except CongVanError as exc:
        return Panel(title, None, exc.message_vi, link)
    rows = result.get("items", result) if isinstance(result, dict) else result
    return Panel(title, list(rows or []), None, link)


def home_panels(g: Gateway, v: Viewer) -> list[Panel]:
    panels: list[Panel] = []
    if v.has("clerk"):
        panels.append(panel(g, v, "Văn bản đến chờ tiếp nhận", "registry", "list_waiting_reception",
                            "/van-ban-den/cho-tiep-nhan"))
        panels.append(panel(g, v, "Văn bản đi chờ ban hành", "registry", "list_waiting_issue",
                            "/van-ban-di/cho-ban-hanh"))
    return panels


def install(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, v: Viewer = Depends(viewer), g: Gateway = Depends(gw)):
        return render(request, "home.html", v, panels=home_panels(g, v))
