"""Authorisation inside one agency through the real deployment (issue 21 item 5), next to the cross-agency sweep of
test_security.py: refused uploads leave no file and no record, a dossier obeys each document's own rule, links
need a part in the handling, coordinators follow the assignee's rule, counts never reveal what a list hides."""

from __future__ import annotations

import hashlib
import secrets
from contextlib import closing
from dataclasses import dataclass

import httpx
import pytest

from services.common.settings import CommonSettings
from services.storage.blobs import blob_store
from tests.e2e.helpers import wait_for
from tests.gateway.test_api import csrf_token_of, send_document, session_for, token_for
from tests.gateway.test_security import A_PEOPLE, B_PEOPLE, A, B, actor_of, rpc

PDF = b"%PDF-1.4\n%kiem thu\n"


@dataclass
class Inside:
    marker: str
    waiting_id: str      # G22's incoming document still at the reception desk (only clerks see it)
    registered_id: str   # G22's incoming document registered, so routing has its handling (nobody takes part)


@pytest.fixture(scope="module")
def inside(deployment) -> Inside:
    marker = secrets.token_hex(6).upper()
    subjects = {"waiting": f"Văn bản chờ tiếp nhận {marker}", "registered": f"Văn bản vào sổ {secrets.token_hex(4)}"}
    with closing(session_for(deployment, "hoalt.vptq")) as h60:
        for subject in subjects.values():
            send_document(h60, subject, A)
    with closing(token_for(deployment, A_PEOPLE["clerk"])) as api:
        def arrived() -> dict[str, str]:
            items = api.get("/api/v1/incoming/waiting-reception", params={"size": 100}).json()["items"]
            found = {key: d["id"] for d in items for key, s in subjects.items() if d["subject"] == s}
            return found if len(found) == 2 else {}

        ids = wait_for(arrived, 120, "both documents at G22")
        register_id = api.get("/api/v1/registers", params={"direction": "incoming"}).json()[0]["id"]
    with closing(session_for(deployment, A_PEOPLE["clerk"])) as clerk:
        r = clerk.post(f"/van-ban-den/{ids['registered']}/tiep-nhan",
                       data={"register_id": register_id, "csrf_token": csrf_token_of(clerk)})
        assert r.status_code == 303, r.text[:500]
    with closing(session_for(deployment, A_PEOPLE["admin"])) as admin:  # routing learns G22's people
        assert admin.post("/quan-tri/nguoi-dung/dong-bo", data={"csrf_token": csrf_token_of(admin)}).status_code \
            == 303
    return Inside(marker, ids["waiting"], ids["registered"])


def _actor(dep, username: str):
    with closing(session_for(dep, username)) as c:
        return actor_of(c)


def _post(client: httpx.Client, path: str, data: dict, files: dict | None = None) -> httpx.Response:
    return client.post(path, data={**data, "csrf_token": csrf_token_of(client)}, files=files)


# -- uploads ---------------------------------------------------------------------------------------------------

def test_refused_uploads_leave_no_file_and_no_record(deployment):
    store = blob_store(CommonSettings(data_dir=deployment.data_dir, s3_endpoint=None, agency_id=A), A)
    clerk, specialist = _actor(deployment, A_PEOPLE["clerk"]), _actor(deployment, A_PEOPLE["specialist"])
    with closing(rpc(deployment, A)) as client:
        clerks_dossier = client.call("registry", "open_dossier", clerk, None, "Hồ sơ của văn thư",
                                     f"{secrets.token_hex(3).upper()}.VT", "10 năm")["id"]
        draft = client.call("routing", "create_draft", specialist, "Dự thảo của chuyên viên",
                            store.put_bytes(PDF + secrets.token_bytes(8)).sha256)["draft_id"]
    with closing(rpc(deployment, B)) as client:
        foreign_dossier = client.call("registry", "open_dossier", _actor(deployment, B_PEOPLE["clerk"]), None,
                                      "Hồ sơ của cơ quan khác", f"{secrets.token_hex(3).upper()}.NN", "10 năm")["id"]
    attempts = [  # (who, path, owner_ref the record would carry)
        (A_PEOPLE["specialist"], f"/ho-so/{foreign_dossier}/tai-lieu", f"dossier:{foreign_dossier}"),
        (A_PEOPLE["specialist"], f"/ho-so/{clerks_dossier}/tai-lieu", f"dossier:{clerks_dossier}"),  # not keeper
        (A_PEOPLE["clerk"], f"/du-thao/{draft}/phien-ban", f"draft:{draft}"),  # not the draft's author
        (A_PEOPLE["department_head"], f"/du-thao/{draft}/phien-ban", f"draft:{draft}"),
    ]
    failures = []
    for username, path, owner_ref in attempts:
        content = PDF + secrets.token_bytes(16)
        sha = hashlib.sha256(content).hexdigest()
        with closing(session_for(deployment, username)) as c:
            r = _post(c, path, {"kind": "note", "title": "Tài liệu", "note": ""},
                      {"file": ("tai-lieu.pdf", content, "application/pdf")})
        with closing(rpc(deployment, A)) as client:
            records = client.call("storage", "list_files", clerk, owner_ref)
        if r.status_code not in (403, 404) or store.exists(sha) or records:
            failures.append(f"{username} POST {path} -> {r.status_code}, stored={store.exists(sha)}, "
                            f"records={[f['display_name'] for f in records]}")
    assert not failures, "\n".join(failures)


# -- dossiers ----------------------------------------------------------------------------------------------------

def test_a_dossier_shows_and_exports_only_what_the_reader_may_see(deployment, inside):
    clerk = _actor(deployment, A_PEOPLE["clerk"])
    with closing(rpc(deployment, A)) as client:
        dossier = client.call("registry", "open_dossier", clerk, None, "Hồ sơ tiếp nhận",
                              f"{secrets.token_hex(3).upper()}.TN", "10 năm")["id"]
        client.call("registry", "add_to_dossier", clerk, dossier, inside.waiting_id)
        client.call("registry", "close_dossier", clerk, dossier)
    failures = []
    for role in ("specialist", "department_head", "leader"):
        with closing(session_for(deployment, A_PEOPLE[role])) as c:
            page = c.get(f"/ho-so/{dossier}")
            if page.status_code != 200 or inside.marker in page.text:
                failures.append(f"{role} reads the dossier: {page.status_code}, shows the document: "
                                f"{inside.marker in page.text}")
            export = c.get(f"/luu-tru/{dossier}/xuat/goi.zip")
            if export.status_code != 403:
                failures.append(f"{role} exports the dossier: {export.status_code}")
    assert not failures, "\n".join(failures)
    with closing(session_for(deployment, A_PEOPLE["clerk"])) as c:  # the clerk sees it all, exports it all
        assert inside.marker in c.get(f"/ho-so/{dossier}").text
        assert c.get(f"/luu-tru/{dossier}/xuat/hoso.pdf").status_code == 200


# -- routing -----------------------------------------------------------------------------------------------------

def test_a_link_needs_a_part_in_the_handling(deployment, inside):
    clerk = _actor(deployment, A_PEOPLE["clerk"])
    with closing(rpc(deployment, A)) as client:
        wait_for(lambda: _has_handling(client, clerk, inside.registered_id), 60, "routing's handling record")
    failures = []
    for role in ("specialist", "department_head"):  # nobody has submitted, directed or assigned it yet
        with closing(session_for(deployment, A_PEOPLE[role])) as c:
            r = _post(c, f"/xu-ly/{inside.registered_id}/lien-ket", {"kind": "outgoing", "target_id": "vb-di-1"})
            if r.status_code != 403:
                failures.append(f"{role} links: {r.status_code}")
    assert not failures, "\n".join(failures)
    with closing(rpc(deployment, A)) as client:
        assert client.call("routing", "get_incoming", clerk, inside.registered_id)["links"] == []


def _has_handling(client, actor, incoming_id: str) -> bool:
    from services.common.errors import NotFound

    try:
        client.call("routing", "get_incoming", actor, incoming_id)
    except NotFound:
        return False
    return True


def test_coordinators_follow_the_assignees_rule(deployment, inside):
    leader = _actor(deployment, A_PEOPLE["leader"])
    title = f"Việc mời lãnh đạo phối hợp {secrets.token_hex(3)}"
    with closing(session_for(deployment, A_PEOPLE["specialist"])) as c:
        r = _post(c, "/cong-viec", {"title": title, "coordinators": [leader.user_id]})
        assert r.status_code == 403, (r.status_code, r.text[:300])
        tasks = c.get("/api/v1/tasks", params={"size": 100}).json()["items"]
    assert title not in [t["title"] for t in tasks]


# -- counts ------------------------------------------------------------------------------------------------------

LISTS = ("/api/v1/incoming/waiting-reception", "/api/v1/outgoing/waiting-issue", "/api/v1/incoming",
         "/api/v1/outgoing")


def test_counts_never_reveal_what_the_list_hides(deployment, inside):
    failures = []
    for role, username in A_PEOPLE.items():
        with closing(token_for(deployment, username)) as api:
            for path in LISTS:
                r = api.get(path, params={"size": 100})
                if r.status_code != 200:
                    continue  # a role the list is not for: refused, nothing counted
                body = r.json()
                shown = len(body["items"])
                if body["total"] != shown and not (body["total"] > 100 and shown == 100):
                    failures.append(f"{role} {path}: total {body['total']}, {shown} rows")
                if role not in ("clerk", "admin") and inside.marker in r.text:
                    failures.append(f"{role} {path} shows the reception desk's document")
        with closing(session_for(deployment, username)) as c:
            found = c.get("/tra-cuu", params={"text": inside.marker})
            if role not in ("clerk", "admin") and "Không tìm thấy văn bản nào" not in found.text:
                failures.append(f"{role} searches the reception desk's document: {found.status_code}")
    assert not failures, "\n".join(failures)
