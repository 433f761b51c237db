"""The preview of where the number, date, signature and seal go (issue 20 item 4), over HTTP against the demo
deployment: the boxes read from the draft's text on page images, moved by the author on the screen and through
/api/v1/drafts/<id>/placement (a new version), shown but not movable to anyone else."""

from __future__ import annotations

import re

from services.signing import specimens
from tests.e2e.helpers import csrf_of
from tests.gateway.test_drafting import HEAD, SPECIALIST, create_draft, gateway  # noqa: F401


def test_the_author_sees_the_boxes_on_the_pages_and_moves_one(gateway):  # noqa: F811
    specialist = gateway(SPECIALIST)
    pdf = specimens.draft(specimens.SPECS["to-trinh"])
    draft_id = create_draft(specialist, "Tờ trình ban hành Quy chế văn thư", ("To trinh.pdf", pdf, "application/pdf"))

    page = specialist.get(f"/du-thao/{draft_id}/vi-tri-ky")
    assert page.status_code == 200, page.text[:500]
    for name in ("so_van_ban", "ngay_ban_hanh", "LanhDao", "DauCoQuan"):
        assert f'id="o-{name}"' in page.text
    assert "Không (vị trí mặc định)" not in page.text  # all four found in the text
    image = specialist.get(f"/du-thao/{draft_id}/vi-tri-ky/trang/0")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

    found = specialist.get(f"/api/v1/drafts/{draft_id}/placement").json()
    assert found["movable"] is True and all(f["found"] for f in found["fields"].values())
    x1, y1, x2, y2 = found["fields"]["LanhDao"]["rect"]
    form = {f"{n}_{k}": str(v) for n, f in found["fields"].items() for k, v in zip(("x1", "y1", "x2", "y2"),
                                                                                    f["rect"], strict=True)}
    form.update({"LanhDao_x1": str(x1 - 10), "LanhDao_x2": str(x2 - 10), "csrf_token": csrf_of(page.text)})
    moved = specialist.post(f"/du-thao/{draft_id}/vi-tri-ky", data=form)
    assert moved.status_code == 303
    after = specialist.get(f"/api/v1/drafts/{draft_id}/placement").json()
    assert after["fields"]["LanhDao"]["rect"] == [round(x1 - 10, 1), y1, round(x2 - 10, 1), y2]
    assert after["pdf_sha256"] != found["pdf_sha256"]
    assert "Điều chỉnh vị trí" in specialist.get(f"/du-thao/{draft_id}").text  # the new version's note

    token = csrf_of(specialist.get(f"/du-thao/{draft_id}").text)
    put = specialist.put(f"/api/v1/drafts/{draft_id}/placement", headers={"x-csrf-token": token},
                         json={"fields": {"so_van_ban": {"rect": [80, 700, 290, 716]}}})
    assert put.status_code == 200, put.text[:500]
    assert put.json()["fields"]["so_van_ban"]["rect"] == [80, 700, 290, 716]


def test_someone_else_sees_the_boxes_but_cannot_move_them(gateway):  # noqa: F811
    specialist = gateway(SPECIALIST)
    draft_id = create_draft(specialist, "Công văn triển khai ký số",
                            ("Cong van.pdf", specimens.draft(specimens.SPECS["cong-van-1-trang"]), "application/pdf"))
    page = specialist.get(f"/du-thao/{draft_id}")
    specialist.post(f"/du-thao/{draft_id}/trinh", data={"csrf_token": csrf_of(page.text), "note": ""})
    head = gateway(HEAD)
    view = head.get(f"/du-thao/{draft_id}/vi-tri-ky")
    assert view.status_code == 200 and 'id="o-LanhDao"' in view.text
    assert re.search(r"chỉ xem, không di chuyển được", view.text)
    assert head.get(f"/api/v1/drafts/{draft_id}/placement").json()["movable"] is False
