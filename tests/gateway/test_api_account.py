"""The REST API of one's own account (issue 18 item 10) against the real deployment: a newcomer made by the
administrator changes the temporary password through /api/v1/me/password under the screen's policy, then lists
and revokes their own tokens; nobody else (same agency or another) reaches those tokens."""

from __future__ import annotations

import re
import secrets
import string
from contextlib import closing

from tests.e2e.helpers import csrf_of, signed_in
from tests.gateway.test_api import base_url, csrf_token_of, session_for, token_for
from tests.gateway.test_api_writes import ok, refused

H60_ADMIN = "manhhd.vptq"


def newcomer(dep, roles: tuple[str, ...] = ("specialist",), unit: str = "thtq") -> tuple[str, str]:
    """A person of `unit` made on the administrator's screen: (account name, temporary password)."""
    given = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)).capitalize()
    with closing(session_for(dep, H60_ADMIN)) as admin:
        page = admin.get("/quan-tri/nguoi-dung")
        created = admin.post("/quan-tri/nguoi-dung", data={"csrf_token": csrf_of(page.text), "unit": unit,
                                                          "full_name": f"Phạm Thị {given}", "roles": list(roles)})
    assert created.status_code == 200, created.text[:1000]
    return (re.search(r'class="issued-username">([^<]+)<', created.text).group(1),
            re.search(r'class="issued-password">([^<]+)<', created.text).group(1))


def test_own_password_changed_through_the_api_under_the_screens_policy(deployment):
    username, temporary = newcomer(deployment)
    new = f"Thu-{secrets.token_hex(4)}-Ha-Noi"
    with closing(signed_in(base_url(deployment), username, temporary)) as web:
        assert web.get("/", follow_redirects=False).headers["location"] == "/doi-mat-khau"
        csrf = {"x-csrf-token": csrf_token_of(web)}
        # a person who must change the password may still reach this route, and only with the session's CSRF token
        assert web.post("/api/v1/me/password", json={"current_password": temporary, "new_password": new}
                        ).status_code == 403
        wrong = refused(web.post("/api/v1/me/password", headers=csrf,
                                 json={"current_password": "sai-mat-khau", "new_password": new}), 422)
        assert wrong["title"] == "Mật khẩu hiện tại không đúng."
        weak = refused(web.post("/api/v1/me/password", headers=csrf,
                                json={"current_password": temporary, "new_password": "abcdefghij"}), 422)
        assert "3 trong 4 loại" in weak["title"]
        same = refused(web.post("/api/v1/me/password", headers=csrf,
                                json={"current_password": temporary, "new_password": temporary}), 422)
        assert same["title"] == "Mật khẩu mới phải khác mật khẩu cũ."
        assert ok(web.post("/api/v1/me/password", headers=csrf,
                           json={"current_password": temporary, "new_password": new})) == {"changed": True}
        assert web.get("/", follow_redirects=False).status_code == 200  # no longer sent to /doi-mat-khau
    with closing(signed_in(base_url(deployment), username, new)) as again:
        assert again.get("/api/v1/me").json()["username"] == username


def test_own_tokens_listed_and_revoked_and_nobody_elses(deployment):
    with closing(token_for(deployment, "trangdt.thtq")) as first, \
            closing(token_for(deployment, "trangdt.thtq")) as second:
        secret = second.headers["authorization"].removeprefix("Bearer ")
        listed = ok(first.get("/api/v1/tokens"))
        assert secret not in str(listed) and all(set(t) >= {"id", "label", "created_at", "revoked"} for t in listed)
        mine = listed[0]  # newest first: the second token, not used yet
        assert mine["last_used_at"] is None and not mine["revoked"]
        assert second.get("/api/v1/me").status_code == 200
        with closing(token_for(deployment, "tuanpm.thtq")) as colleague, \
                closing(token_for(deployment, "namtv.vpdn")) as other_agency:
            refused(colleague.post(f"/api/v1/tokens/{mine['id']}/revoke"), 404)
            refused(other_agency.post(f"/api/v1/tokens/{mine['id']}/revoke"), 404)
            assert mine["id"] not in colleague.get("/api/v1/tokens").text
        refused(first.post("/api/v1/tokens/not-a-token-id/revoke"), 422)
        refused(first.post("/api/v1/tokens/0000000000000000/revoke"), 404)
        assert second.get("/api/v1/me").status_code == 200  # the refusals above changed nothing
        revoked = ok(first.post(f"/api/v1/tokens/{mine['id']}/revoke"))
        assert revoked == {"id": mine["id"], "label": mine["label"], "revoked": True}
        refused(second.get("/api/v1/me"), 401)
        assert ok(first.post(f"/api/v1/tokens/{mine['id']}/revoke"))["revoked"]  # again: unchanged
        assert next(t for t in ok(first.get("/api/v1/tokens")) if t["id"] == mine["id"])["revoked"]
