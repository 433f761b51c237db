"""The baselines the gateway is measured against, served by uvicorn exactly as `python -m gateway` serves it
(same server, same worker count, same access-log setting): a bare FastAPI app, no middleware, no database.

    uvicorn --factory bench.bare_app:healthz_app  # GET /healthz, the gateway's route (bench/gateway_http.py)
    uvicorn --factory bench.bare_app:home_app     # GET /?as=N: home.html with static data (bench/morning_peak.py)
    uvicorn --factory bench.bare_app:registration_app  # POST /api/v1/incoming/paper (bench/registration_floor.py)
    uvicorn --factory bench.bare_app:direct_registration_app  # the same, writing the rows itself (no RPC)

`home_app` renders the gateway's own home page template (templates, globals and filters set up as the gateway
sets them) for the viewers, panels and colleagues the morning-peak bench captured from the real gateway at the
start of its run (BENCH_HOME_DATA, a pickle of plain dicts): the same HTML, without the session lookup, the
services' calls, the colleagues' query and the maintenance-notice query a real page view makes.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import create_engine


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


def token_table():
    """API tokens as the bare registration app checks them: the SHA-256 of the bearer token, its person and agency."""
    from sqlalchemy import Column, MetaData, String, Table

    return Table("api_tokens", MetaData(schema="floor_gateway"), Column("id_hash", String(64), primary_key=True),
                 Column("user_id", String(36), nullable=False), Column("agency_id", String(35), nullable=False))


def registration_app() -> FastAPI:
    """POST /api/v1/incoming/paper with the gateway's multipart fields (bench/morning_peak.py `register` is the
    client): the bearer token checked with one indexed SELECT (as gateway/auth.py `token_user`), the scan read and
    hashed, then one RPC through ServiceClient to `floor_c.register` (bench/floor_service.py). Nothing else: no
    checks of the form, no file store, no idempotency lookup. BENCH_FLOOR_DB, BENCH_FLOOR_AMQP."""
    from services.common.rpc_client import ServiceClient

    client = ServiceClient(os.environ["BENCH_FLOOR_AMQP"], timeout=120)  # the gateway's pool (4 connections)
    return _registration_app(lambda actor, n, sha256, size: client.call("floor_c", "register", actor, n, sha256,
                                                                        size))


def direct_registration_app() -> FastAPI:
    """The same route, writing the registration's rows itself in one transaction (bench/floor_service.py
    `registration_rows`, stage A's INSERTs) into the schema BENCH_FLOOR_SCHEMA: no RPC, no audit chain, no outbox.
    The least any registration arriving over HTTP can cost, in a design the architecture does not allow (the
    gateway writing the registry's tables)."""
    from bench.floor_service import PROCESS_SEQS, numbered, registration_rows, write_rows

    engine = create_engine(os.environ["BENCH_FLOOR_DB"], pool_size=10)
    scratch = engine.execution_options(schema_translate_map={None: os.environ["BENCH_FLOOR_SCHEMA"]})

    def write(actor: Any, n: int, sha256: str, size: int) -> dict[str, str]:
        rows = numbered(registration_rows(actor.agency_id, actor.user_id, n, sha256, size), PROCESS_SEQS)
        with scratch.begin() as conn:
            write_rows(conn, rows)
        return {"id": rows["document"][0]["id"]}

    return _registration_app(write, engine)


def _registration_app(act: Callable[[Any, int, str, int], dict[str, str]], engine: Any = None) -> FastAPI:
    import hashlib

    from sqlalchemy import select

    from services.common.actor import Actor, Role

    engine = engine if engine is not None else create_engine(os.environ["BENCH_FLOOR_DB"])
    tokens = token_table()
    app = FastAPI()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/incoming/paper", status_code=201)
    def register(files: list[UploadFile] = File(...), code_number: str = Form(..., max_length=11),
                 code_notation: str = Form(...), organ_name: str = Form(...), subject: str = Form(...),
                 authorization: str = Header("")) -> dict[str, str]:
        digest = hashlib.sha256(authorization.removeprefix("Bearer ").encode()).hexdigest()
        with engine.connect() as conn:
            found = conn.execute(select(tokens.c.user_id, tokens.c.agency_id)
                                 .where(tokens.c.id_hash == digest)).first()
        if found is None:
            raise HTTPException(401)
        scan = files[0].file.read()
        actor = Actor(user_id=found.user_id, username="vt.floor", agency_id=found.agency_id,
                      roles=frozenset({Role.CLERK}))
        return act(actor, int(code_number), hashlib.sha256(scan).hexdigest(), len(scan))

    return app
