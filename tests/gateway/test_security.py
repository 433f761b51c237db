"""Security of the gateway against the real deployment.

The sweep enumerates `app.routes` at test time (so screens added later are covered too) and calls every route
as each person of one agency (G22) with path parameters filled with ids of ANOTHER agency (H17), made by H17's
users in this test. Every answer must be a refusal (403/404, or 422 for a post whose form the handler refused),
never a 5xx and never a page holding H17's data; afterwards H17's objects must be unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import secrets
import string
import typing
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.common.actor import Actor
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests.deployment import demo_password
from tests.e2e.helpers import csrf_of, signed_in, vietnamese_pdf, wait_for
from tests.gateway.test_api import base_url, csrf_token_of, request_retrying, send_document, session_for, token_for

A, B = "000.00.00.G22", "000.00.00.H17"
A_PEOPLE = {"clerk": "thunt.vpcp", "leader": "longtd.vpcp", "department_head": "binhlv.tkbt",
            "specialist": "yenmt.tkbt", "admin": "taidv.vpcp"}
B_PEOPLE = {"clerk": "namtv.vpdn", "leader": "vinhlq.vpdn", "department_head": "hangpt.thdn",
            "specialist": "phuchv.thdn", "admin": "ngocvt.vpdn"}
# The installable app's manifest, icons and service worker are fetched before anyone signs in; they carry no data.
# "Quên mật khẩu" is for people who are signed out: no session, no token, no CSRF token (a link's secret proves the
# person); they answer every account alike (test_the_password_reset_routes_answer_everybody_alike).
RESET_ROUTES = {"/quen-mat-khau", "/dat-lai-mat-khau", "/api/v1/password-reset", "/api/v1/password-reset/confirm"}
PUBLIC = {"/dang-nhap", "/healthz", "/metrics", "/api/docs", "/api/docs/oauth2-redirect", "/api/v1/openapi.json",
          "/manifest.webmanifest", "/icons/{kind}-{size}.png", "/sw.js", *RESET_ROUTES}
PDF_STUB = b"%PDF-1.4\n%stub\n"


def actor_of(client: httpx.Client) -> Actor:
    me = client.get("/api/v1/me").json()
    return Actor(user_id=me["user_id"], username=me["username"], agency_id=me["agency_id"],
                 roles=frozenset(me["roles"]), full_name=me["full_name"], unit=me["unit"])


def rpc(dep, agency: str) -> ServiceClient:
    return ServiceClient(dep.agencies()[agency]["amqp_uri"], size=1, timeout=60)


@dataclass
class Foreign:
    """H17's objects, made by H17's people; `marker` is in every text they wrote."""

    marker: str
    doc_id: str
    incoming_id: str
    sha256: str
    user_ids: dict[str, str]
    register_id: str
    task_id: int
    draft_id: int
    notice_id: int
    dossier_id: str
    token: str  # an API token of H17's clerk, whose public id fills every {token_id}
    group_id: str  # a recipient group of H17 (nhóm nơi nhận), made by its administrator
    usernames: list[str] = field(default_factory=list)

    @property
    def token_id(self) -> str:
        return hashlib.sha256(self.token.encode()).hexdigest()[:16]  # as GET /api/v1/tokens shows it

    def leaked(self, body: str) -> list[str]:
        return [s for s in (self.marker, *self.usernames) if s in body]


@pytest.fixture(scope="module")
def foreign(deployment) -> Foreign:
    marker = "".join(secrets.choice(string.ascii_uppercase) for _ in range(12))
    b_clerk = session_for(deployment, B_PEOPLE["clerk"])
    # An outgoing document of H17 to H60 (not to G22: G22 must not legitimately hold it)
    sent = send_document(b_clerk, f"Văn bản mật {marker}", "000.00.00.H60")
    sha = hashlib.sha256(sent["pdf"]).hexdigest()
    # An incoming document of H17 (sent by H60 under another subject), waiting for H17's reception
    h60 = session_for(deployment, "hoalt.vptq")
    inbound_subject = f"Văn bản đến H17 {secrets.token_hex(4)}"
    send_document(h60, inbound_subject, B)
    b_api = token_for(deployment, B_PEOPLE["clerk"])
    incoming = wait_for(lambda: [d for d in b_api.get("/api/v1/incoming/waiting-reception",
                                                      params={"size": 100}).json()["items"]
                                 if d["subject"] == inbound_subject], 90, "H17's incoming document")[0]
    users = {}
    for role, username in B_PEOPLE.items():
        with closing(session_for(deployment, username)) as c:
            users[role] = c.get("/api/v1/me").json()["user_id"]
    registers = _request(b_api, "GET", "/api/v1/registers")
    assert registers.status_code == 200, registers.text
    register_id = registers.json()[0]["id"]
    with closing(session_for(deployment, B_PEOPLE["leader"])) as c:
        leader = actor_of(c)
    with closing(session_for(deployment, B_PEOPLE["specialist"])) as c:
        specialist = actor_of(c)
    with closing(session_for(deployment, B_PEOPLE["clerk"])) as c:
        clerk = actor_of(c)
    with closing(rpc(deployment, B)) as client:
        dossier = client.call("registry", "open_dossier", clerk, None, f"Hồ sơ {marker}", "01.VP", "10 năm")
        task = client.call("routing", "create_task", leader, f"Công việc {marker}")
        draft = client.call("routing", "create_draft", specialist, f"Dự thảo {marker}", sha)
        notice = client.call("routing", "publish_notice", leader, f"Thông báo {marker}")
    token = b_api.headers["authorization"].removeprefix("Bearer ")
    with closing(session_for(deployment, B_PEOPLE["admin"])) as c:
        group = c.post("/api/v1/recipient-groups", json={"name": f"Nhóm {marker}", "members": [A]},
                       headers={"x-csrf-token": csrf_token_of(c)})
        assert group.status_code == 201, group.text
    for c in (b_clerk, h60, b_api):
        c.close()
    return Foreign(marker=marker, doc_id=sent["id"], incoming_id=incoming["id"], sha256=sha, user_ids=users,
                   register_id=register_id, task_id=task["task_id"], draft_id=draft["draft_id"],
                   notice_id=notice.get("notice_id") or notice.get("id"), dossier_id=dossier["id"], token=token,
                   group_id=group.json()["id"], usernames=list(B_PEOPLE.values()))


# -- the route table ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> list[APIRoute]:
    """The gateway's routes, read from the app at test time."""
    app = create_app(GatewaySettings(data_dir=tmp_path_factory.mktemp("routes"), agencies_file=None))
    found = list(api_routes(app.routes))
    assert len(found) > 20
    assert any(r.path.startswith("/api/v1/") for r in found)  # the REST API is swept too, not only the pages
    return found


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers: FastAPI >= 0.16x keeps an included router as one
    `_IncludedRouter` entry of `app.routes`, and a sweep that kept only APIRoute entries skipped all of /api/v1."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route if not prefix else _prefixed(route, prefix)
        elif (included := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            yield from api_routes(included.routes, prefix + (getattr(context, "prefix", "") or ""))


def _prefixed(route: APIRoute, prefix: str) -> APIRoute:
    clone = copy.copy(route)
    clone.path = prefix + route.path
    return clone


def _annotation(param) -> Any:
    return getattr(param.field_info, "annotation", None)


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in typing.get_args(annotation)


# Path parameters that are not ids: a value the route accepts, so that the id next to it is what gets checked.
NOT_IDS = {"part": "hoso.pdf"}


def foreign_value(name: str, annotation: Any, f: Foreign) -> Any:
    """An id of H17 fitting the parameter's name and type."""
    name = name.lower()
    if name in NOT_IDS:
        return NOT_IDS[name]
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    if "dossier" in name:
        return f.dossier_id
    if "group" in name:
        return f.group_id
    if "token" in name:
        return f.token_id
    if _is_int(annotation):
        if "notification" in name:
            # Reminders are numbered per agency and made by every test on this deployment: any small number may be
            # the caller's own reminder. An id that exists nowhere checks the same rule (404 unless it is yours).
            return 2**31 - 1
        if "draft" in name:
            return f.draft_id
        if "notice" in name:
            return f.notice_id
        return f.task_id
    if "user" in name:
        return f.user_ids["clerk"]
    if "register" in name:
        return f.register_id
    if "sha" in name:
        return f.sha256
    if "incoming" in name:
        return f.incoming_id
    if "draft" in name:
        return str(f.draft_id)
    if "task" in name:
        return str(f.task_id)
    return f.doc_id


def fill_path(route: APIRoute, f: Foreign) -> str:
    values = {p.name: foreign_value(p.name, _annotation(p), f) for p in route.dependant.path_params}
    return route.path_format.format(**values)


def fill_form(route: APIRoute, f: Foreign) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plausible form fields (ids of H17 where a field names one), so handlers reach their checks."""
    data: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for p in route.dependant.body_params:
        annotation = _annotation(p)
        name = p.alias or p.name
        if annotation is UploadFile or (inspect.isclass(annotation) and issubclass(annotation, UploadFile)) \
                or UploadFile in typing.get_args(annotation):
            # A file of its own per call: a refused upload must leave no trace of exactly this file.
            files[name] = ("van-ban.pdf", PDF_STUB + secrets.token_bytes(12), "application/pdf")
        elif typing.get_origin(annotation) is list:
            data[name] = [str(foreign_value(name, str, f))] if "id" in name else ["Kiểm thử"]
        elif _is_int(annotation):
            data[name] = "1"
        elif annotation is bool:
            data[name] = "true"
        elif any(k in name.lower() for k in ("id", "sha", "register", "user")):
            data[name] = str(foreign_value(name, annotation, f))
        else:
            data[name] = "Kiểm thử bảo mật"
    return data, files


def json_model(route: APIRoute) -> type[BaseModel] | None:
    """The pydantic model of a route that takes a JSON body (the REST API's writes), else None."""
    params = route.dependant.body_params
    annotation = _annotation(params[0]) if len(params) == 1 else None
    return annotation if inspect.isclass(annotation) and issubclass(annotation, BaseModel) else None


def fill_json(model: type[BaseModel], f: Foreign) -> dict[str, Any]:
    """A body the model accepts (ids of H17 where a field names one), so the request passes validation and reaches
    the services' agency and role checks instead of stopping at a 422."""
    body: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required():
            continue  # its default: a made-up value of an optional field would only be refused for itself
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        kind = args[0]
        if typing.get_origin(kind) is typing.Literal:
            body[name] = typing.get_args(kind)[0]
        elif inspect.isclass(kind) and issubclass(kind, BaseModel):
            body[name] = {"user_id": f.user_ids["clerk"]} if "user_id" in kind.model_fields else fill_json(kind, f)
        elif typing.get_origin(kind) is list:
            body[name] = [str(foreign_value(name, str, f))] if "id" in name else ["Kiểm thử"]
        elif kind is bool:
            body[name] = False
        elif _is_int(kind):
            body[name] = 1
        elif "date" in name or name in ("due", "deadline"):
            body[name] = "2026-12-31"
        elif any(k in name.lower() for k in ("id", "sha", "register", "user")):
            body[name] = str(foreign_value(name, kind, f))
        else:
            body[name] = "Kiểm thử bảo mật"
    return body


def _dependency_away(r: httpx.Response) -> bool:
    """The operator's queue figures come from Prometheus, which the sweep's deployment does not run: the API says
    so with a documented 503, an answer about a missing dependency, not a fault of the gateway."""
    return r.status_code == 503 and "monitoring_unavailable" in r.text


def _methods(route: APIRoute) -> list[str]:
    # DELETE only by string ids: an integer id of H17 may be one of the caller's own objects (see the sweep).
    int_ids = any(_is_int(_annotation(p)) for p in route.dependant.path_params)
    return sorted(m for m in route.methods if m in ("GET", "POST") or (m == "DELETE" and not int_ids))


def _request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    # Retried only after a 503 (see request_retrying): the sweep is about authorisation, and a request that keeps
    # answering 503 still fails it.
    try:
        return request_retrying(client, method, path, **kwargs)
    except httpx.TransportError as exc:  # name the route: a dropped connection is a failure of that route
        raise AssertionError(f"{method} {path}: {exc!r}") from exc


# -- the sweep -------------------------------------------------------------------------------------------------------

def test_every_route_refuses_another_agencys_ids_for_every_role(deployment, routes, foreign):
    failures: list[str] = []
    calls = 0
    store = blob_store(CommonSettings(data_dir=deployment.data_dir, s3_endpoint=None, agency_id=A), A)
    for role, username in A_PEOPLE.items():
        client = session_for(deployment, username)
        csrf = csrf_token_of(client)
        for route in routes:
            params = route.dependant.path_params
            for method in _methods(route):
                if method == "POST" and not params:
                    continue  # posts without an id act on the caller's own agency (logout, create, ...)
                path = fill_path(route, foreign)
                files = {}
                if method in ("GET", "DELETE"):
                    r = _request(client, method, path, headers={"x-csrf-token": csrf})
                elif model := json_model(route):
                    r = _request(client, "POST", path, json=fill_json(model, foreign),
                                 headers={"x-csrf-token": csrf, "idempotency-key": secrets.token_urlsafe(12)})
                else:
                    data, files = fill_form(route, foreign)
                    data["csrf_token"] = csrf
                    r = _request(client, "POST", path, data=data, files=files or None,
                                 headers={"x-csrf-token": csrf})
                calls += 1
                where = f"{role} {method} {route.path} -> {r.status_code}"
                uploaded = [hashlib.sha256(f[1]).hexdigest() for f in files.values()]
                if r.status_code in (403, 404) and any(store.exists(sha) for sha in uploaded):
                    # (a 422 refuses the file's content, which must be read first; a permission refusal must not)
                    failures.append(f"{where}: refused for permission, but the uploaded file was stored")
                if r.status_code >= 500 and not _dependency_away(r):
                    failures.append(f"{where}: server error {r.text[:200]}")
                elif leaked := foreign.leaked(r.text):
                    failures.append(f"{where}: shows H17's data {leaked}")
                elif params and not any(_is_int(_annotation(p)) for p in params):
                    # Integer ids (drafts, tasks, notices, reminders) are numbered per agency, so H17's number may
                    # also be one of the caller's own objects: there, no leak of H17's text (above) and H17's
                    # objects unchanged (after the sweep) are the rule; string ids must be refused outright.
                    allowed = {403, 404} if method != "POST" else {403, 404, 409, 422}
                    if r.status_code not in allowed:
                        failures.append(f"{where}: expected one of {sorted(allowed)}")
        client.close()
    assert calls > 100
    assert not failures, "\n".join(failures)
    _assert_foreign_unchanged(deployment, foreign)


def _assert_foreign_unchanged(dep, f: Foreign) -> None:
    with httpx.Client(base_url=base_url(dep), timeout=60, headers={"authorization": f"Bearer {f.token}"}) as kept:
        assert kept.get("/api/v1/me").status_code == 200  # H17's token: revoked by nobody of G22
    api = token_for(dep, B_PEOPLE["clerk"])
    assert api.get(f"/api/v1/incoming/{f.incoming_id}").json()["state"] == "waiting_reception"
    group = api.get(f"/api/v1/recipient-groups/{f.group_id}").json()  # neither renamed, emptied nor deleted
    assert group["name"] == f"Nhóm {f.marker}" and [m["organ_id"] for m in group["members"]] == [A]
    outgoing = api.get(f"/api/v1/outgoing/{f.doc_id}").json()
    assert outgoing["subject"].endswith(f.marker)
    assert not [h for h in outgoing["history"] if h.get("username") in A_PEOPLE.values()], outgoing["history"]
    api.close()
    with closing(rpc(dep, B)) as client, closing(session_for(dep, B_PEOPLE["leader"])) as c:
        leader = actor_of(c)
        assert client.call("routing", "get_task", leader, f.task_id)["status"] == "open"
    with closing(session_for(dep, B_PEOPLE["specialist"])) as c:
        drafts = c.get("/api/v1/drafts", params={"size": 100}).json()["items"]
        assert [d["status"] for d in drafts if d["draft_id"] == f.draft_id] == ["drafting"]
    # H17's people can still sign in with their own passwords (no reset, no lock from G22)
    for username in f.usernames:
        signed_in(base_url(dep), username, demo_password(dep, username)).close()


def test_anonymous_requests_are_sent_to_login_or_refused(deployment, routes, foreign):
    failures = []
    with httpx.Client(base_url=base_url(deployment), timeout=60, follow_redirects=False) as client:
        for route in routes:
            if route.path in PUBLIC:
                continue
            path = fill_path(route, foreign)
            for method in _methods(route):
                data, files = fill_form(route, foreign) if method == "POST" else ({}, {})
                r = client.request(method, path, data=data or None, files=files or None)
                api = route.path.startswith("/api/")
                ok = r.status_code == 401 if api else (
                    r.status_code == 303 and r.headers["location"].startswith("/dang-nhap"))
                if not ok or foreign.leaked(r.text):
                    failures.append(f"anonymous {method} {route.path} -> {r.status_code}")
    assert not failures, "\n".join(failures)


def test_the_password_reset_routes_answer_everybody_alike(deployment, routes, foreign):
    """Signed out, or signed in as any role of G22: asking for H17's accounts is answered exactly as asking for a
    name that exists nowhere (no hint of which accounts exist, nor of another agency's); a made-up link sets nothing
    and shows nobody's data; H17's people keep their passwords."""
    assert {r.path for r in routes} >= RESET_ROUTES
    clients = {"anonymous": httpx.Client(base_url=base_url(deployment), timeout=60, follow_redirects=False)}
    clients |= {role: session_for(deployment, username) for role, username in A_PEOPLE.items()}
    attempt = "Kh0ng-Duoc-Dat"
    failures = []
    for who, client in clients.items():
        asked = {client.post("/api/v1/password-reset", json={"username": name}).content
                 for name in (*foreign.usernames, "khongco.vptq")}
        pages = {client.post("/quen-mat-khau", data={"username": name}).text
                 for name in (B_PEOPLE["admin"], "khongco.vptq")}
        if len(asked) != 1 or len(pages) != 1:
            failures.append(f"{who}: the answers differ between accounts")
        made_up = secrets.token_urlsafe(32)
        confirm = client.post("/api/v1/password-reset/confirm", json={"token": made_up, "new_password": attempt})
        link = client.get("/dat-lai-mat-khau", params={"ma": made_up})
        posted = client.post("/dat-lai-mat-khau", data={"ma": made_up, "new_password": attempt,
                                                        "confirm_password": attempt})
        for r in (confirm, link, posted):
            if r.status_code != 400 or foreign.leaked(r.text):
                failures.append(f"{who}: {r.request.method} {r.request.url.path} -> {r.status_code}")
        client.close()
    assert not failures, "\n".join(failures)
    for username in foreign.usernames:
        signed_in(base_url(deployment), username, demo_password(deployment, username)).close()


@pytest.mark.parametrize("role", list(A_PEOPLE))
def test_every_post_without_the_right_csrf_token_is_refused(deployment, routes, foreign, role):
    """Each role (a route open to one role only must check CSRF before anything else); the session is valid but
    the CSRF token is missing, wrong, or another session's."""
    client = session_for(deployment, A_PEOPLE[role])
    other = session_for(deployment, A_PEOPLE["specialist" if role != "specialist" else "clerk"])
    foreign_token = csrf_token_of(other)  # a real token, of another session
    failures = []
    for route in routes:
        if "POST" not in route.methods or route.path in PUBLIC:
            continue
        path = fill_path(route, foreign)
        data, files = fill_form(route, foreign)
        for token in (None, foreign_token, "sai"):
            body = {**data, **({"csrf_token": token} if token else {})}
            r = client.post(path, data=body, files=files or None)
            if r.status_code != 403 or "CSRF" not in r.text:
                failures.append(f"{role} POST {route.path} with csrf={token!r} -> {r.status_code}")
    assert client.get("/api/v1/me").status_code == 200  # the session itself survived
    client.close()
    other.close()
    assert not failures, "\n".join(failures)


def test_session_cookie_is_useless_after_logout(deployment):
    client = session_for(deployment, A_PEOPLE["specialist"])
    cookie = client.cookies.get("cv_session")
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/dang-xuat", data={"csrf_token": csrf_token_of(client)}).status_code == 303
    replay = httpx.Client(base_url=base_url(deployment), timeout=60, cookies={"cv_session": cookie})
    assert replay.get("/", follow_redirects=False).headers["location"].startswith("/dang-nhap")
    assert replay.get("/api/v1/me").status_code == 401
    replay.close()
    client.close()


def test_lockout_after_repeated_failures(deployment):
    """On an account made for the test (the demo accounts are shared by every test of the run)."""
    admin = session_for(deployment, A_PEOPLE["admin"])
    given = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)).capitalize()
    page = admin.get("/quan-tri/nguoi-dung")
    created = admin.post("/quan-tri/nguoi-dung", data={"csrf_token": csrf_of(page.text), "full_name": f"Lê Văn {given}",
                                                      "unit": "vpcp", "roles": ["specialist"]})
    username = created.text.split('class="issued-username">')[1].split("<")[0]
    password = created.text.split('class="issued-password">')[1].split("<")[0]
    admin.close()
    with httpx.Client(base_url=base_url(deployment), timeout=60) as client:
        def attempt(pw: str) -> httpx.Response:
            return client.post("/dang-nhap", data={"username": username, "password": pw, "next": "/"})

        answers = [attempt("Sai-mat-khau-1").status_code for _ in range(5)]
        assert answers[:4] == [401] * 4 and answers[4] == 403
        locked = attempt(password)
        assert locked.status_code == 403 and "tạm khóa" in locked.text
        assert "cv_session" not in client.cookies


# -- role x action ----------------------------------------------------------------------------------------------------

ROLES = tuple(A_PEOPLE)


def _refused(call) -> bool:
    """True when the call is refused for the role (403), False when the role passed (any other answer)."""
    from services.common.errors import CongVanError, Forbidden

    try:
        call()
    except Forbidden:
        return True
    except CongVanError:
        return False
    return False


@pytest.fixture(scope="module")
def people(deployment) -> dict[str, tuple[httpx.Client, Actor]]:
    found = {}
    for role, username in A_PEOPLE.items():
        client = session_for(deployment, username)
        found[role] = (client, actor_of(client))
    yield found
    for client, _actor in found.values():
        client.close()


SCREEN_ACTIONS = {
    # action: (method, path, allowed roles)
    "gửi văn bản đi": ("GET", "/van-ban-di/gui", {"clerk"}),
    "quản trị người dùng": ("GET", "/quan-tri/nguoi-dung", {"admin"}),
    "cấu hình": ("GET", "/quan-tri/cau-hinh", {"admin"}),
    # The clerk keeps the registers too (their list); opening one is the agency rule register_openers' to allow.
    "sổ văn bản (quản trị)": ("GET", "/quan-tri/so-van-ban", {"admin", "clerk"}),
    "danh sách chờ tiếp nhận": ("GET", "/api/v1/incoming/waiting-reception", {"clerk", "leader", "admin"}),
    # Recipient groups: the administrator keeps them (no agency rule lets clerks keep catalogues); the clerk reads
    # them to send.
    "nhóm nơi nhận (quản trị)": ("GET", "/quan-tri/nhom-noi-nhan", {"admin"}),
    "nhóm nơi nhận (API)": ("GET", "/api/v1/recipient-groups", {"admin", "clerk"}),
    # The recipients' picker asks the directory as the clerk types (the administrator's groups search it too).
    "tìm nơi nhận trong danh bạ (API)": ("GET", "/api/v1/directory/agencies?q=so+noi+vu", {"admin", "clerk"}),
}


@pytest.mark.parametrize("action", list(SCREEN_ACTIONS))
def test_screen_actions_by_role(people, action):
    method, path, allowed = SCREEN_ACTIONS[action]
    for role in ROLES:
        client, _actor = people[role]
        r = request_retrying(client, method, path)
        assert r.status_code == (200 if role in allowed else 403), (role, action, r.status_code)


def test_register_submit_direct_reassign_by_role(deployment, people):
    """The incoming flow on a real document sent to G22: each step refused to every role but its own."""
    subject = f"Ma trận vai trò {secrets.token_hex(4)}"
    with closing(session_for(deployment, "hoalt.vptq")) as h60:
        send_document(h60, subject, A)
    clerk_api = token_for(deployment, A_PEOPLE["clerk"])
    doc = wait_for(lambda: [d for d in clerk_api.get("/api/v1/incoming/waiting-reception",
                                                     params={"size": 100}).json()["items"]
                            if d["subject"] == subject], 90, "the document at G22")[0]
    register_id = clerk_api.get("/api/v1/registers", params={"direction": "incoming"}).json()[0]["id"]
    for role in ROLES:  # register (vào sổ): clerk only, and the refusals change nothing
        if role == "clerk":
            continue
        client, _actor = people[role]
        r = client.post(f"/van-ban-den/{doc['id']}/tiep-nhan", data={"register_id": register_id,
                                                                    "csrf_token": csrf_token_of(client)})
        assert r.status_code == 403, (role, r.status_code)
    client, _actor = people["clerk"]
    r = client.post(f"/van-ban-den/{doc['id']}/tiep-nhan", data={"register_id": register_id,
                                                                "csrf_token": csrf_token_of(client)})
    assert r.status_code == 303, r.text[:500]

    # routing must know G22's people: the admin pushes the directory (a screen of this area)
    admin, _ = people["admin"]
    assert admin.post("/quan-tri/nguoi-dung/dong-bo",
                      data={"csrf_token": csrf_token_of(admin)}).status_code == 303
    actors = {role: actor for role, (_c, actor) in people.items()}
    with closing(rpc(deployment, A)) as client:
        wait_for(lambda: not _missing(client, actors["clerk"], doc["id"]), 60, "routing's handling record")
        leader_id = actors["leader"].user_id
        submit = {role: _refused(lambda a=actor: client.call("routing", "submit_incoming", a, doc["id"], leader_id))
                  for role, actor in actors.items() if role != "clerk"}
        assert submit == {r: True for r in submit}, submit
        client.call("routing", "submit_incoming", actors["clerk"], doc["id"], leader_id)
        main = {"unit": actors["department_head"].unit}  # the unit; its head then assigns a person
        direct = {role: _refused(lambda a=actor: client.call("routing", "direct_incoming", a, doc["id"],
                                                             "Giao phòng xử lý", main))
                  for role, actor in actors.items() if role != "leader"}
        assert direct == {r: True for r in direct}, direct
        client.call("routing", "direct_incoming", actors["leader"], doc["id"], "Giao phòng xử lý", main)
        specialist = actors["specialist"].user_id
        reassign = {role: _refused(lambda a=actor: client.call("routing", "reassign_incoming", a, doc["id"],
                                                               specialist))
                    for role, actor in actors.items() if role != "department_head"}
        assert reassign == {r: True for r in reassign}, reassign
        client.call("routing", "reassign_incoming", actors["department_head"], doc["id"], specialist)
    clerk_api.close()


def _missing(client: ServiceClient, clerk: Actor, incoming_id: str) -> bool:
    from services.common.errors import NotFound

    try:
        client.call("routing", "get_incoming", clerk, incoming_id)
    except NotFound:
        return True
    return False


RPC_GATES = {
    # action: (service, method, args, roles that pass the role gate) — with ids that do not exist, so a role that
    # passes gets "not found"/"invalid" and nothing changes; a refused role gets 403.
    "ban hành (issue)": ("registry", "issue_outgoing", ("khong-co", "khong-co", []), {"clerk"}),
    "thu hồi văn bản đi": ("registry", "recall_outgoing", ("khong-co", "lý do"), {"clerk"}),
    "từ chối tiếp nhận": ("registry", "reject_incoming", ("khong-co", "WRONG_RECIPIENT", "sai"), {"clerk"}),
    "soạn dự thảo": ("routing", "create_draft", ("Dự thảo", "0" * 64), {"specialist", "department_head", "leader"}),
    "ký số (lãnh đạo)": ("signing", "sign_leader", ("0" * 64, None, "ký"), {"leader"}),
    "ủy quyền": ("routing", "delegate", ("khong-co", "2026-01-01", "2026-01-02"), {"leader"}),
    "cấu hình điều hành": ("routing", "configure", (), {"admin"}),
    "mở sổ": ("registry", "create_register", ("incoming", 1999), {"admin"}),
    "sửa sổ": ("registry", "update_register", ("khong-co", "Tên sổ"), {"admin"}),
    "khóa sổ": ("registry", "close_register", ("khong-co",), {"admin"}),
    "mở lại sổ": ("registry", "reopen_register", ("khong-co", "Khóa nhầm"), {"admin"}),
    "gửi bản sao": ("registry", "send_copy", ("khong-co", [{"organ_id": "000.00.00.H60"}]), {"clerk"}),
    "thu hồi bản sao": ("registry", "request_copy_change", ("khong-co", "recall", "lý do"), {"clerk"}),
    "nhận lại bản giấy của bản sao": ("registry", "record_paper_return", ("khong-co", "giay-01", None, ""), {"clerk"}),
    "nhận lại bản giấy của văn bản đi": ("registry", "record_outgoing_paper_return", ("khong-co", "giay-01", None, ""),
                                        {"clerk"}),
    "sửa ghi nhận nhận lại bản giấy": ("registry", "correct_paper_return", ("khong-co", "giay-01", "", "", None,
                                                                              "outgoing"), {"clerk"}),
    "hủy ghi nhận nhận lại bản giấy": ("registry", "undo_paper_return", ("khong-co", "giay-01", "lý do", "k", "copies"),
                                      {"clerk"}),
    # a format that does not exist: a role that passes gets 422, nothing is made
    "in sổ bản sao": ("reporting", "register_file", ("copies", "2026-01-01", "2026-01-31", "docx"),
                      {"clerk", "leader", "admin"}),
}


@pytest.mark.parametrize("action", list(RPC_GATES))
def test_service_actions_by_role(deployment, people, action):
    """What the screens call, with each role's acting user exactly as the gateway sends it."""
    service, method, args, allowed = RPC_GATES[action]
    with closing(rpc(deployment, A)) as client:
        for role in ROLES:
            actor = people[role][1]
            call_args = tuple(actor.user_id if a is None else a for a in args)
            refused = _refused(lambda a=actor, c=call_args: client.call(service, method, a, *c))
            assert refused == (role not in allowed), (action, role)


ENTRY_CALLS = {
    # nhập thay (services/routing/entry.py): no role gate; the leader's grant (scope `record`) is what lets a person
    # type in the leader's paper decisions. Ids that do not exist: the grant is checked first.
    "nhập thay bút phê": ("enter_directive", ("khong-co", "Bút phê", {"unit": "KHONGCO"})),
    "nhập thay ý kiến dự thảo": ("enter_draft_decision", (2**31 - 1, "return", "leader", "Sửa lại")),
    "nhập thay ký trên giấy": ("enter_paper_approval", (2**31 - 1, "leader", "0" * 64, "Đã ký")),
    "nhập thay chỉ đạo thêm": ("enter_oversight", ("khong-co", "directive", "op-bao-mat", {"text": "Chỉ đạo thêm"})),
    "nhập thay đôn đốc": ("enter_oversight", ("khong-co", "chase", "op-bao-mat-dd", {"note": "Đôn đốc"})),
    "nhập thay ý kiến công việc": ("enter_task_opinion", (2**31 - 1, "Ý kiến", "op-bao-mat-cv")),
}


@pytest.mark.parametrize("action", list(ENTRY_CALLS))
def test_entry_for_the_leader_is_refused_to_every_role_without_a_grant(deployment, people, action):
    """Every role of the agency, without a grant of its leader, is refused (403); the leader, entering for
    themselves, is told to use their own forms (422, not a refusal of the role)."""
    method, args = ENTRY_CALLS[action]
    leader_id = people["leader"][1].user_id
    with closing(rpc(deployment, A)) as client:
        for role in ROLES:
            actor = people[role][1]
            refused = _refused(lambda a=actor: client.call("routing", method, a, leader_id, *args))
            assert refused == (role != "leader"), (action, role)


# -- schemathesis over the OpenAPI document ------------------------------------------------------------------------

def test_api_answers_match_the_openapi_document(deployment):
    """Requests generated from /api/v1/openapi.json, sent with a token of G22's clerk (the widest reading rights):
    never a 5xx; status codes, media types and bodies as documented."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    def no_unexpected_server_error(ctx, response, case):
        """Any 5xx fails except the documented problem+json 503 of a service that did not answer in time."""
        if response.status_code == 503 and "service_unavailable" in response.text:
            return True
        return not_a_server_error(ctx, response, case)
    from hypothesis import strategies as st
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    with closing(token_for(deployment, A_PEOPLE["clerk"])) as client:
        auth = client.headers["authorization"]
    seeds = seeded_ids(deployment)

    def seed(case):
        """The same request on G22's own objects: the writes get past "not found" to their rules and answers."""
        for name in list(case.path_parameters or {}):
            if name in seeds:
                case.path_parameters[name] = seeds[name]
        return case

    schema = schemathesis.openapi.from_url(f"{base_url(deployment)}/api/v1/openapi.json")
    checks = [no_unexpected_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        strategy = operation.as_strategy()
        if "{" in operation.path:
            strategy = st.one_of(strategy, strategy.map(seed))
        # Fewer examples for writes: each may run a whole service action (the run stays a few minutes on 2 cores).
        examples = 15 if operation.method.upper() == "GET" else 8

        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def exercise(case):
            case.call_and_validate(headers={"authorization": auth}, checks=checks, timeout=60)

        exercise()


def seeded_ids(dep) -> dict[str, Any]:
    """Objects of G22 for the generated requests' ids: an incoming document (registered, so its handling exists)
    with its file, a dossier and a task of G22's clerk, a draft of G22's specialist. Made through the API only."""
    subject = f"Văn bản cho schemathesis {secrets.token_hex(4)}"
    with closing(session_for(dep, "hoalt.vptq")) as h60:
        send_document(h60, subject, A)
    with closing(token_for(dep, A_PEOPLE["clerk"])) as clerk, \
            closing(token_for(dep, A_PEOPLE["specialist"])) as specialist:
        doc = wait_for(lambda: [d for d in clerk.get("/api/v1/incoming/waiting-reception",
                                                     params={"size": 100}).json()["items"]
                                if d["subject"] == subject], 90, "the document at G22")[0]
        registered = clerk.post(f"/api/v1/incoming/{doc['id']}/register", json={})
        assert registered.status_code == 200, registered.text
        dossier = clerk.post("/api/v1/dossiers", json={"title": f"Hồ sơ {subject}",
                                                       "file_notation": f"{secrets.randbelow(900) + 100}.ST",
                                                       "retention": "10 năm"})
        assert dossier.status_code == 201, dossier.text
        task = clerk.post("/api/v1/tasks", json={"title": f"Công việc {subject}"})
        assert task.status_code == 201, task.text
        draft = specialist.post("/api/v1/drafts", data={"title": f"Dự thảo {subject}"},
                                files={"file": ("du-thao.pdf", vietnamese_pdf("DỰ THẢO", subject), "application/pdf")})
        assert draft.status_code == 201, draft.text
        me = clerk.get("/api/v1/me").json()
    return {"doc_id": doc["id"], "incoming_id": doc["id"], "sha256": registered.json()["attachments"][0]["sha256"],
            "dossier_id": dossier.json()["id"], "task_id": task.json()["task_id"],
            "draft_id": draft.json()["draft_id"], "user_id": me["user_id"]}
