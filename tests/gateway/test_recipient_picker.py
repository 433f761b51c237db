"""The recipients' picker, in-process (gateway/recipient_picker.py): the directory search it asks as the clerk types
(GET /api/v1/directory/agencies: folded Vietnamese, codes, a limit, only agencies that can receive, never one's own,
clerks and administrators only), the order of what a form posts, and the picker shown again after an error with the
agencies chosen in their order. The screens in Chromium, sending over the interconnect:
tests/e2e/test_recipient_order.py."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.recipient_picker import chosen_for_page, ordered, picker_context
from tests.gateway.test_recipient_groups import G22, H17, H60, HUYEN, SNV, STC, _signed_in, _viewer, make_groups_app

SEARCH = "/api/v1/directory/agencies"


@pytest.fixture
def groups_app(tmp_path):
    return make_groups_app(tmp_path)


@pytest.fixture
def admin(groups_app):
    with _signed_in(groups_app, "manhhd.vptq") as c:
        yield c


def _found(client: TestClient, q: str, **params) -> list[str]:
    answer = client.get(SEARCH, params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return [a["organ_id"] for a in answer.json()]


def test_the_clerk_finds_agencies_by_name_without_marks_and_by_code(groups_app):
    with _signed_in(groups_app, "hoalt.vptq") as clerk:
        answer = clerk.get(SEARCH, params={"q": "so tai chinh"})
        assert answer.json() == [{"organ_id": STC, "name": "Sở Tài chính tỉnh Tuyên Quang"}]
        assert _found(clerk, "SỞ NỘI VỤ") == [SNV]
        assert _found(clerk, "uy ban 000.01") == [HUYEN]           # a word of the name and part of the code
        assert _found(clerk, "000.00.00.h17") == [H17]
        assert _found(clerk, "van phong chinh phu") == [G22]
        # never the clerk's own agency (UBND tỉnh Tuyên Quang), however it is asked
        assert H60 not in _found(clerk, "tuyen quang") and _found(clerk, H60) == []
        assert _found(clerk, "   ") == [] and _found(clerk, "khong co co quan nay") == []
        assert _found(clerk, "so\x00 noi\x1f vu") == [SNV]                # control characters are dropped


def test_the_search_is_limited_and_offers_only_agencies_that_can_receive_today(groups_app):
    g = groups_app.state.gateway
    today = date.today()
    g.directory().import_records(
        [{"organ_id": f"000.{n:02d}.20.H60", "name": f"Phòng Tài chính huyện số {n}", "hub": "H60"}
         for n in range(1, 31)]
        + [{"organ_id": "000.01.21.H60", "name": "Phòng Tài chính bị khóa", "hub": "H60", "locked": True},
           {"organ_id": "000.01.22.H60", "name": "Phòng Tài chính đã giải thể", "hub": "H60",
            "valid_to": (today - timedelta(days=2)).isoformat()},
           {"organ_id": "000.01.23.H60", "name": "Phòng Tài chính cũ", "hub": "H60",
            "valid_to": (today - timedelta(days=2)).isoformat(), "successor": STC}])
    with _signed_in(groups_app, "hoalt.vptq") as clerk:
        default = _found(clerk, "phong tai chinh")
        assert len(default) == 20 and default == sorted(default)   # by level, then identifier
        assert len(_found(clerk, "phong tai chinh", limit=5)) == 5
        assert len(_found(clerk, "phong tai chinh", limit=50)) == 30
        assert not {"000.01.21.H60", "000.01.22.H60", "000.01.23.H60"} & set(_found(clerk, "phong tai chinh",
                                                                                   limit=50))
        for bad in ({"limit": 0}, {"limit": 51}, {"q": "x" * 101}):
            assert clerk.get(SEARCH, params={"q": "so", **bad}).status_code == 422


def test_only_clerks_and_administrators_search_and_each_sees_the_directory_without_its_own_agency(groups_app,
                                                                                                   admin):
    assert _found(admin, "tuyen quang") == [STC, SNV]
    with _signed_in(groups_app, "trangdt.vptq") as specialist:
        refused = specialist.get(SEARCH, params={"q": "so"})
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    with _signed_in(groups_app, "ngocvt.vpdn") as other:           # Đà Nẵng's administrator
        assert H17 not in _found(other, "uy ban nhan dan") and H60 in _found(other, "uy ban nhan dan")
    with TestClient(groups_app, base_url="http://127.0.0.1") as anonymous:
        assert anonymous.get(SEARCH, params={"q": "so"}).status_code == 401


def test_a_form_posts_the_chosen_in_order_then_the_typed_identifiers_each_once():
    assert ordered([SNV, STC], f"{H17}\n {G22} ; {SNV},{HUYEN}\n\n") == [SNV, STC, H17, G22, HUYEN]
    assert ordered([" ", STC, STC], "") == [STC]


def test_the_picker_shown_again_lists_the_chosen_in_their_order_and_gives_back_unknown_codes(groups_app):
    g = groups_app.state.gateway
    chosen, typed = chosen_for_page(g, [STC, "000.99.99.X99", SNV, H17, STC])
    assert [a["organ_id"] for a in chosen] == [STC, SNV, H17] and typed == "000.99.99.X99"
    picker = g.templates.env.from_string('{% from "_fields.html" import recipient_picker %}'
                                         '{{ recipient_picker("Nơi nhận", chosen, required=True, groups=groups, '
                                         'chosen_groups=chosen_groups, typed=typed) }}')
    html = picker.render(**picker_context(g, _viewer(groups_app, "hoalt.vptq"), [STC, "000.99.99.X99", SNV]))
    assert re.findall(r'<option value="([^"]+)" selected>', html) == [STC, SNV]
    assert ">000.99.99.X99</textarea>" in html
    assert "Sở Tài chính tỉnh Tuyên Quang (000.00.02.H60)" in html
    assert "Ủy ban nhân dân huyện Na Hang" not in html                 # the directory is not in the page


def test_a_package_s_trace_is_named_from_the_agencies_it_names_only(groups_app, monkeypatch):
    """The document page names each hop of the trace: the sender by its name, a hub by its province (from the
    province's people's committee in the directory), the national hub by its own; reading only those agencies, not
    the whole directory (tens of thousands nationally)."""
    from gateway.document_page import name_trace

    g = groups_app.state.gateway
    directory = g.directory()
    monkeypatch.setattr(type(directory), "deliverable", lambda *_a, **_k: pytest.fail("the whole directory read"))
    trace = [{"organ_id": SNV}, {"organ_id": "hub.H60"}, {"organ_id": "hub.national"}, {"organ_id": "hub.H17"},
             {"organ_id": "hub.H99"}, {"organ_id": "000.00.77.H99"}]
    name_trace(g, trace)
    assert [hop["name"] for hop in trace] == [
        "Sở Nội vụ tỉnh Tuyên Quang", "Trục liên thông văn bản tỉnh Tuyên Quang", "Trục liên thông văn bản quốc gia",
        "Trục liên thông văn bản thành phố Đà Nẵng", "Trục liên thông văn bản H99", "000.00.77.H99"]
