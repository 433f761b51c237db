"""The baselines the gateway is measured against, served by uvicorn exactly as `python -m gateway` serves it
(same server, same worker count, same access-log setting): a bare FastAPI app, no middleware, no database.

    uvicorn --factory bench.bare_app:healthz_app  # GET /healthz, the gateway's route (bench/gateway_http.py)
    uvicorn --factory bench.bare_app:home_app     # GET /?as=N: home.html with static data (bench/morning_peak.py)

`home_app` renders the gateway's own home page template (templates, globals and filters set up as the gateway
sets them) for the viewers, panels and colleagues the morning-peak bench captured from the real gateway at the
start of its run (BENCH_HOME_DATA, a pickle of plain dicts): the same HTML, without the session lookup, the
services' calls, the colleagues' query and the maintenance-notice query a real page view makes.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse


def healthz_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:  # the gateway's route, word for word (gateway/app.py)
        return {"status": "ok", "process": "gateway"}

    return app


def home_templates():
    """The gateway's Jinja environment, as Gateway.__init__ and web.install set it up."""
    from fastapi.templating import Jinja2Templates

    from gateway import app as gateway_app
    from gateway.labels import file_kind, register_label
    from gateway.web import template_globals
    from services.common.actor import ROLE_LABELS_VI

    templates = Jinja2Templates(directory=str(gateway_app.HERE / "templates"))
    templates.env.globals["ROLE_LABELS"] = {r.value: label for r, label in ROLE_LABELS_VI.items()}
    templates.env.filters["vn_time"] = gateway_app.vn_time
    templates.env.globals["SERVER_HELD_KEYS"] = True
    templates.env.globals.update(template_globals())
    templates.env.filters.update(register_label=register_label, file_kind=file_kind)
    return templates


def rebuilt(page: dict[str, Any]) -> dict[str, Any]:
    """A captured page's context, with the gateway's own objects (User, WebSession, Viewer, People, Panel)."""
    from gateway.app import Viewer
    from gateway.models import User, WebSession
    from gateway.web import Panel, People
    from services.common.actor import Role

    user = User(**page["user"])
    people = object.__new__(People)
    people.users = [User(**u) for u in page["people"]]
    people.by_id = {u.id: u for u in people.users}
    people.declared_units = []
    return {"viewer": Viewer(user, WebSession(csrf_token=page["csrf"])), "agency_name": page["agency_name"],
            "Role": Role, "maintenance": [], "error_field": None, "panels": [Panel(**p) for p in page["panels"]],
            "people": people, "waiting": page["waiting"], "admin_links": []}


def home_app() -> FastAPI:
    pages = pickle.loads(Path(os.environ["BENCH_HOME_DATA"]).read_bytes())  # noqa: S301 - written by the bench
    contexts = [rebuilt(p) for p in pages]
    templates = home_templates()
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, as_: int = Query(0, alias="as")):
        return templates.TemplateResponse(request, "home.html", {"request": request, **contexts[as_ % len(contexts)]})

    return app
