"""Idempotency-Key of the API's writes (gateway/idempotency.py) on the gateway's own database: the first answer is
kept and replayed, a key reused for another request is refused, a failed request keeps nothing, keys are per person
and expire after a day."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import Response
from sqlalchemy import update

from gateway.idempotency import ApiIdempotency, KeyReused, once
from services.common.clock import now_utc
from services.common.errors import Conflict


def person(user_id: str) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(id=user_id, agency_id="000.00.00.H60"))


@pytest.fixture
def g(gateway_app):
    return gateway_app.state.gateway


def test_the_same_key_answers_the_first_answer_and_acts_once(g):
    calls: list[int] = []

    def act() -> dict:
        calls.append(1)
        return {"n": len(calls)}

    first = Response()
    first.status_code = 201
    assert once(g, person("u1"), "k-1", first, "op:1", {"a": 1}, act) == {"n": 1}
    again = Response()
    assert once(g, person("u1"), "k-1", again, "op:1", {"a": 1}, act) == {"n": 1}
    assert calls == [1] and again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    # another person's key of the same name is theirs
    assert once(g, person("u2"), "k-1", Response(), "op:1", {"a": 1}, act) == {"n": 2}
    # no key: every call acts
    assert once(g, person("u1"), None, Response(), "op:1", {"a": 1}, act) == {"n": 3}


def test_a_key_reused_for_another_request_is_refused(g):
    once(g, person("u1"), "k-2", Response(), "op:1", {"a": 1}, lambda: {"ok": True})
    for operation, payload in (("op:1", {"a": 2}), ("op:2", {"a": 1})):
        with pytest.raises(KeyReused) as refused:
            once(g, person("u1"), "k-2", Response(), operation, payload, lambda: {"ok": True})
        assert refused.value.http_status == 422 and refused.value.code == "idempotency_key_reused"


def test_a_refused_request_keeps_nothing_and_the_key_may_be_tried_again(g):
    def refuse() -> dict:
        raise Conflict("Văn bản đã chuyển bước.")

    with pytest.raises(Conflict):
        once(g, person("u1"), "k-3", Response(), "op:1", {}, refuse)
    assert once(g, person("u1"), "k-3", Response(), "op:1", {}, lambda: {"done": 1}) == {"done": 1}


def test_a_key_is_forgotten_after_a_day(g):
    once(g, person("u1"), "k-4", Response(), "op:1", {}, lambda: {"v": 1})
    with g.db.session() as s:
        s.execute(update(ApiIdempotency).where(ApiIdempotency.key == "k-4")
                  .values(created_at=now_utc() - timedelta(hours=25)))
    once(g, person("u1"), "k-5", Response(), "op:1", {}, lambda: {"v": 2})  # a new key clears the old ones
    assert once(g, person("u1"), "k-4", Response(), "op:9", {}, lambda: {"v": 3}) == {"v": 3}
