"""Dashboards as code: the committed JSON is what the code generates, every query parses on the real Prometheus,
and the provisioning files point at what exists."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from infra.grafana import build

GRAFANA = Path(build.__file__).parent


def test_committed_dashboards_are_up_to_date():
    committed = {p.name for p in build.OUT.glob("*.json")}
    assert committed == {f"{b.uid}.json" for b in build.BOARDS}, "run: python -m infra.grafana.build"
    for board in build.BOARDS:
        assert (build.OUT / f"{board.uid}.json").read_text() == build.render(board), \
            f"{board.uid}.json is stale: run python -m infra.grafana.build"


def test_dashboards_cover_the_issue():
    titles = {b.title for b in build.BOARDS}
    assert {"Trục liên thông quốc gia — tổng quan", "Trục liên thông tỉnh — tổng quan", "Luồng văn bản theo cơ quan",
            "Hàng đợi RabbitMQ", "Thời hạn và quá hạn"} <= titles


def test_every_panel_uses_the_provisioned_datasource():
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())["datasources"]
    assert [d["uid"] for d in ds] == [build.DATASOURCE_UID]
    for path in build.OUT.glob("*.json"):
        board = json.loads(path.read_text())
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert panels, path.name
        for panel in panels:
            assert panel["datasource"]["uid"] == build.DATASOURCE_UID
            assert panel["targets"] and all(t["expr"] for t in panel["targets"])
            assert panel["description"], f"{path.name}: {panel['title']} has no description"


@pytest.fixture(scope="module")
def prometheus_url(stack_env) -> str:
    return stack_env["PROMETHEUS_URL"]


@pytest.mark.parametrize(("uid", "title", "expr"), list(build.panel_queries()),
                         ids=[f"{u}:{t}" for u, t, _ in build.panel_queries()])
def test_panel_query_parses_on_prometheus(prometheus_url, uid, title, expr):
    answer = build.query(prometheus_url, expr)
    assert answer["status"] == "success", f"{uid} / {title}: {answer.get('error')}"


@pytest.mark.parametrize(("name", "expr"), list(build.rule_queries()), ids=[n for n, _ in build.rule_queries()])
def test_rule_query_parses_on_prometheus(prometheus_url, name, expr):
    answer = build.query(prometheus_url, expr)
    assert answer["status"] == "success", f"{name}: {answer.get('error')}"


def test_a_broken_query_is_reported_as_an_error(prometheus_url):
    answer = build.query(prometheus_url, "sum by (hub (congvan_hub_dead_letters)")
    assert answer["status"] == "error"


def test_queries_without_data_names_the_empty_ones(prometheus_url):
    # The test stack's Prometheus scrapes only RabbitMQ: its queries have data, the application's have none.
    with httpx.Client() as client:   # wait for at least one scrape of RabbitMQ
        assert client.get(f"{prometheus_url}/api/v1/query", params={"query": "rabbitmq_connections"}).json()["data"]
    empty = build.queries_without_data(prometheus_url)
    assert "sum(rabbitmq_connections)" not in empty
    assert "sum by (agency) (congvan_documents_overdue)" in empty
    assert "up" not in empty                      # ProcessDown's series: `up` exists for the rabbitmq job
    assert not any("unless" in e for e in empty)  # condition panels are not expected to have data


def test_provisioning_points_at_the_generated_and_rabbitmq_folders():
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/congvan.yml").read_text())["providers"]
    paths = {p["name"]: p["options"]["path"] for p in providers}
    assert paths == {"congvan": "/var/lib/grafana/dashboards/congvan",
                     "rabbitmq": "/var/lib/grafana/dashboards/rabbitmq"}
    assert (GRAFANA / "rabbitmq" / "README.md").exists()


def test_operations_doc_lists_every_panel_and_its_queries():
    doc = (Path(build.__file__).parents[2] / "docs" / "operations.md").read_text()
    for _board, _row, p in build.panels():
        assert f"| {p.title} |" in doc, f"docs/operations.md misses panel {p.title!r}"
        for q in p.queries:
            assert q.expr.replace("|", "\\|") in doc, f"docs/operations.md has a stale query for {p.title!r}"
