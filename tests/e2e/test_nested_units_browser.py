"""Units nested two levels, in Chromium against the real deployment (Đà Nẵng; Bình Định QĐ 376 Đ4.1 Bước 3:
"Lãnh đạo các đơn vị trực thuộc Sở chuyển cho lãnh đạo các phòng thuộc đơn vị trực thuộc; lãnh đạo các phòng thuộc
đơn vị trực thuộc chuyển công chức, viên chức thực hiện").

The administrator declares a sub-unit under Phòng Tổng hợp (THDN) and gives it a head and a specialist. The leader
assigns an incoming document to THDN, with a THDN specialist as coordinator; THDN's head (Phan Thị Hằng) hands it
to the sub-unit, whose head hands it to the sub-unit's specialist. The coordinator starts the reply from the
"Phối hợp xử lý" card (Đ4.2 Bước 1). THDN's head finds the item on her progress page, in THDN's row and in the
sub-unit's, indented under it. Every screen names the units as the administrator declared them ("Phòng Tổng
hợp", "Tổ Đầu tư công … (thuộc Phòng Tổng hợp)"), not by their codes. Screenshots in tests/artifacts/
(docs/screenshots/ with `./congvan screenshots`).
"""

from __future__ import annotations

import re
import secrets
from functools import partial

import httpx
import pytest
from playwright.sync_api import expect

from tests import screenshots
from tests.deployment import demo_password
from tests.e2e.helpers import browser_home, csrf_of, demo_home, pick, signed_in, vietnamese_pdf, wait_for
from tests.gateway.test_api_admin import H60_ADMIN as TQ_ADMIN
from tests.gateway.test_api_admin import H60_CLERK as TQ_CLERK
from tests.gateway.test_handling_flow import (
    CLERK,
    HEAD,
    LEADER,
    SPECIALIST,
    login,
    option_value,
    post,
    send_and_register,
)
from tests.gateway.test_outgoing_paper_returns_api import waiting_for_issue

pytestmark = pytest.mark.browser
expect.set_options(timeout=60_000)  # a bound on a loaded machine, not a timing check
ADMIN = "ngocvt.vpdn"


browser_page = partial(browser_home, timeout_ms=120_000)  # a bound on a loaded machine, not a timing check


def new_account(admin: httpx.Client, base: str, full_name: str, unit: str, roles: list[str],
                position: str) -> tuple[str, str]:
    """An account made on the administrator's screen, its temporary password changed by its owner."""
    page = admin.get("/quan-tri/nguoi-dung").text
    created = post(admin, "/quan-tri/nguoi-dung", page, full_name=full_name, unit=unit, position=position,
                   roles=roles)
    assert created.status_code == 200 and "issued-password" in created.text, created.text[:1000]
    username = re.search(r'class="issued-username">([^<]+)<', created.text).group(1)
    temporary = re.search(r'class="issued-password">([^<]+)<', created.text).group(1)
    person = signed_in(base, username, temporary)
    password = f"Nv-{secrets.token_urlsafe(12)}-7"
    changed = person.post("/doi-mat-khau", data={"csrf_token": csrf_of(person.get("/doi-mat-khau").text),
                                                 "old_password": temporary, "new_password": password,
                                                 "confirm_password": password})
    assert changed.status_code == 303, changed.text[:1000]
    person.close()
    return username, password


def test_a_document_goes_down_a_nested_unit_and_the_parent_head_follows_it(deployment, browser, artifacts_dir):
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    shots = []
    code = "tdt" + "".join(secrets.choice("abcdefghkmnpqrstuvxy") for _ in range(4))
    sub_name = f"Tổ Đầu tư công {code[3:].upper()}"

    # 1. The administrator declares the sub-unit under Phòng Tổng hợp, on the units screen.
    admin = browser_page(browser, base, ADMIN, demo_password(deployment, ADMIN))
    admin.goto(f"{base}/quan-tri/don-vi")
    form = admin.locator("#don-vi-form")
    form.get_by_label("Mã đơn vị").fill(code)
    form.get_by_label("Tên đơn vị").fill(sub_name)
    form.get_by_label("Thuộc đơn vị").select_option(label="Phòng Tổng hợp (thdn)")
    form.get_by_role("button", name="Lưu đơn vị").click()
    row = admin.locator("table.unit-tree tr").filter(has_text=sub_name)
    expect(row).to_have_class(re.compile("depth-2"))
    expect(row.locator("td").nth(3)).to_have_text("thdn")
    # a loop is refused with the reason, and nothing moves
    admin.goto(f"{base}/quan-tri/don-vi?sua=thdn")
    expect(form.get_by_label("Tên đơn vị")).to_have_value("Phòng Tổng hợp")
    form.get_by_label("Thuộc đơn vị").select_option(label=f"— {sub_name} ({code})")
    form.get_by_role("button", name="Lưu đơn vị").click()
    expect(admin.get_by_role("alert")).to_contain_text("dưới chính nó")
    admin.goto(f"{base}/quan-tri/don-vi")
    expect(admin.locator("#lich-su-don-vi")).to_contain_text("Thuộc đơn vị: — → thdn")
    shots.append(artifacts_dir / "don-vi-01-cay-don-vi.png")
    admin.screenshot(path=str(shots[-1]), full_page=True)

    admin_http = login(deployment, base, ADMIN)
    # account names end with the new unit's code: these names are free in it
    sub_head, sub_head_pw = new_account(admin_http, base, "Lưu Văn Bình", code, ["department_head"], "Tổ trưởng")
    sub_spec, sub_spec_pw = new_account(admin_http, base, "Trịnh Thị Lan", code, ["specialist"], "Chuyên viên")
    admin_http.close()

    # 2. A document arrives; the clerk submits it; the leader assigns it to THDN with a coordinator of THDN.
    subject = f"Về việc rà soát danh mục dự án đầu tư công ({secrets.token_hex(3)})"
    sender, _url, incoming = send_and_register(deployment, base, subject)
    sender.close()
    clerk = login(deployment, base, CLERK)
    wait_for(lambda: subject in clerk.get("/xu-ly?hop=cho-trinh").text, 180, "the document in 'chờ trình'")
    page = clerk.get(f"/xu-ly/{incoming}").text
    assert post(clerk, f"/xu-ly/{incoming}/trinh", page,
                to_user_id=option_value(page, "to_user_id", "Lê Quang Vinh")).status_code == 303
    clerk.close()
    leader = browser_page(browser, base, LEADER, demo_password(deployment, LEADER))
    leader.goto(f"{base}/xu-ly/{incoming}")
    leader.get_by_label("Ý kiến chỉ đạo (bút phê)").fill("Giao phòng Tổng hợp chủ trì; đồng chí Phúc phối hợp.")
    main = leader.locator("#but-phe select[name=main]")
    expect(main.locator("option", has_text=f"{sub_name} (thuộc Phòng Tổng hợp)")).to_have_count(1)
    main.select_option(label="Phòng Tổng hợp")
    pick(leader.locator("#but-phe"), "Phối hợp (chọn nhiều)", "Huỳnh Văn Phúc")
    leader.get_by_role("button", name="Phân công").click()
    expect(leader.get_by_role("status")).to_have_text("Đã bút phê và phân công xử lý.")

    # 3. THDN's head hands it to the sub-unit (not to a person): its head hands it on.
    head = browser_page(browser, base, HEAD, demo_password(deployment, HEAD))
    head.goto(f"{base}/xu-ly/{incoming}")
    head.locator("#giao-lai select[name=user_id]").select_option(label=f"{sub_name} (thuộc Phòng Tổng hợp)")
    head.locator("#giao-lai").get_by_label("Ghi chú").fill("Tổ Đầu tư công rà soát, báo cáo phòng.")
    shots.append(artifacts_dir / "don-vi-02-giao-don-vi-truc-thuoc.png")
    head.screenshot(path=str(shots[-1]), full_page=True)
    head.get_by_role("button", name="Giao", exact=True).click()
    expect(head.get_by_role("status")).to_have_text("Đã giao lại trong đơn vị.")
    expect(head.locator("ol.timeline")).to_contain_text(f"cho đơn vị {sub_name}")

    # 4. The sub-unit's head finds it in their box and hands it to their specialist; THDN's staff are not offered.
    sub = browser_page(browser, base, sub_head, sub_head_pw)
    sub.goto(f"{base}/xu-ly?hop=can-xu-ly")
    sub.get_by_role("link", name=re.compile(re.escape(subject))).click()
    picker = sub.locator("#giao-lai select[name=user_id]")
    expect(picker.locator("option", has_text="Huỳnh Văn Phúc")).to_have_count(0)
    picker.select_option(label="Trịnh Thị Lan (Chuyên viên)")
    sub.locator("#giao-lai").get_by_label("Ghi chú").fill("Em rà soát, trình tổ trước thứ Năm.")
    sub.get_by_role("button", name="Giao", exact=True).click()
    expect(sub.get_by_role("status")).to_have_text("Đã giao lại trong đơn vị.")
    shots.append(artifacts_dir / "don-vi-03-to-truong-giao-chuyen-vien.png")
    sub.screenshot(path=str(shots[-1]), full_page=True)
    specialist = signed_in(base, sub_spec, sub_spec_pw)
    assert subject in specialist.get("/xu-ly?hop=can-xu-ly").text
    specialist.close()

    # 5. The coordinator starts the reply from the "Phối hợp" card (Bình Định QĐ 376 Đ4.2 Bước 1).
    coordinator = browser_page(browser, base, SPECIALIST, demo_password(deployment, SPECIALIST))
    coordinator.goto(f"{base}/xu-ly/{incoming}")
    coordinator.locator("#y-kien").get_by_role("link", name="Soạn văn bản trả lời").click()
    expect(coordinator.get_by_text("Trả lời văn bản đến:")).to_be_visible()
    reply = f"V/v trả lời {subject}"
    coordinator.get_by_label("Trích yếu").fill(reply)
    coordinator.get_by_label("Tệp dự thảo").set_input_files(files=[{
        "name": "tra-loi.pdf", "mimeType": "application/pdf",
        "buffer": vietnamese_pdf("ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG", reply)}])
    coordinator.get_by_role("button", name="Tạo dự thảo").click()
    expect(coordinator.get_by_role("status")).to_have_text("Đã tạo dự thảo.")
    coordinator.goto(f"{base}/xu-ly/{incoming}")
    expect(coordinator.locator("ol.timeline")).to_contain_text("Soạn văn bản trả lời")

    # 6. THDN's head follows it on her progress page: THDN's row counts it, the sub-unit's row sits under it.
    head.goto(f"{base}/tien-do")
    sub_row = head.locator("table.progress tr").filter(has_text=sub_name)
    expect(sub_row).to_have_class(re.compile("depth-2"))
    expect(sub_row).to_contain_text("thuộc Phòng Tổng hợp")
    head.get_by_role("link", name="Phòng Tổng hợp", exact=True).click()
    expect(head.locator("h1")).to_contain_text("— Phòng Tổng hợp")
    open_row = head.locator("#dang-xu-ly tr").filter(has_text=subject)
    expect(open_row).to_contain_text("Trịnh Thị Lan")
    shots.append(artifacts_dir / "don-vi-04-tien-do-don-vi-cap-tren.png")
    head.screenshot(path=str(shots[-1]), full_page=True)

    # ... and the REST API says the same: the item is in THDN's row and in the sub-unit's.
    head_http = login(deployment, base, HEAD)
    csrf = {"x-csrf-token": csrf_of(head_http.get("/").text)}
    rows = {r["unit"]: r for r in head_http.get("/api/v1/progress", headers=csrf).json()}
    assert subject in str(rows["THDN"]["open_items"]) and rows[code.upper()]["parent"] == "THDN"
    head_http.close()
    screenshots.publish(shots)  # docs/screenshots only with `./congvan screenshots`


def test_an_empty_unit_retired_on_the_tree_is_no_longer_offered_at_issue(deployment, browser, artifacts_dir):
    """A phòng dissolved by the province's decision (Tuyên Quang): the administrator cannot retire a unit that still
    has people (the message says to move them first), retires an empty one, which stays greyed in the tree, and the
    clerk's issue form no longer offers it among the internal units; sent anyway over REST, it is refused."""
    base = f"http://127.0.0.1:{deployment.topology.gateway_port}"
    code = "pgt" + "".join(secrets.choice("abcdefghkmnpqrstuvxy") for _ in range(4))
    name = f"Phòng Giải thể {code[3:].upper()}"
    title = f"V/v thông báo sắp xếp lại tổ chức các phòng ({secrets.token_hex(3)})"
    clerk_api, waiting = waiting_for_issue(deployment, title)

    admin = demo_home(browser, base, deployment, TQ_ADMIN)
    admin.goto(f"{base}/quan-tri/don-vi")
    form = admin.locator("#don-vi-form")
    form.get_by_label("Mã đơn vị").fill(code)
    form.get_by_label("Tên đơn vị").fill(name)
    form.get_by_role("button", name="Lưu đơn vị").click()
    expect(admin.locator("table.unit-tree tr").filter(has_text=name)).to_be_visible()

    clerk = demo_home(browser, base, deployment, TQ_CLERK)
    issue_page = f"{base}/van-ban-di/{waiting['id']}/ban-hanh"
    clerk.goto(issue_page)
    internal = clerk.locator("select[name=internal_units]")
    expect(internal.locator("option", has_text=name)).to_have_count(1)

    # Phòng Tổng hợp still has people: refused, saying what to do first
    admin.get_by_role("button", name="Ngừng hoạt động đơn vị thtq").click()
    expect(admin.get_by_role("alert")).to_contain_text("Chuyển những người này sang đơn vị khác")
    admin.goto(f"{base}/quan-tri/don-vi")
    admin.get_by_role("button", name=f"Ngừng hoạt động đơn vị {code}").click()
    expect(admin.get_by_role("status")).to_contain_text("Đơn vị đã ngừng hoạt động")
    row = admin.locator("table.unit-tree tr").filter(has_text=name)
    expect(row).to_contain_text("(ngừng hoạt động)")
    expect(row).to_have_class(re.compile("inactive"))
    expect(row.get_by_role("button", name=f"Hoạt động lại đơn vị {code}")).to_be_visible()
    expect(admin.locator("#lich-su-don-vi")).to_contain_text("Ngừng hoạt động")
    shot = artifacts_dir / "don-vi-05-ngung-hoat-dong.png"
    admin.screenshot(path=str(shot), full_page=True)

    clerk.goto(issue_page)
    expect(internal.locator("option", has_text="Phòng Tổng hợp")).to_have_count(1)
    expect(internal.locator("option", has_text=name)).to_have_count(0)
    sent = clerk_api.post(f"/api/v1/outgoing/{waiting['id']}/issue", json={"internal_units": [code]})
    assert sent.status_code == 422 and sent.json()["code"] == "unit_retired", sent.text
    assert clerk_api.get(f"/api/v1/outgoing/{waiting['id']}").json().get("number_and_notation") in (None, "")
    clerk_api.close()
