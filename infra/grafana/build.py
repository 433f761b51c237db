"""Grafana dashboards as code (grafana-foundation-sdk, Grafana 11.6 build): `python -m infra.grafana.build`
writes infra/grafana/dashboards/*.json, which the provisioning files load (infra/grafana/provisioning/).

Every panel is declared as a `P(title, description, queries...)` so that docs/operations.md and the tests can list
each panel and its PromQL. `queries_without_data(url)` tells which queries return nothing on a running Prometheus
(the end-to-end check against the demo); tests/ops/test_grafana.py checks that every query parses.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as gp
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef, VariableRefresh

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DATASOURCE_UID = "congvan-prometheus"   # provisioning/datasources/prometheus.yml gives it this uid
DS = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
REGISTRATION_LIMIT_SECONDS = 8 * 3600   # services.common.workcalendar.DEFAULT_REGISTRATION_LIMIT_HOURS
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Q:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class P:
    """A panel: kind is timeseries | stat | table."""
    title: str
    description: str
    queries: tuple[Q, ...]
    kind: str = "timeseries"
    unit: str = ""
    width: int = 12
    height: int = 8
    condition: bool = False   # shows only what is wrong: empty when all is well


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    rows: tuple[tuple[str, tuple[P, ...]], ...]
    variables: tuple[tuple[str, str, str], ...] = ()     # (name, label, label_values query)
    tags: tuple[str, ...] = field(default=("congvan",))


def _hist(q: float, metric: str, by: str, selector: str = "") -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{selector}[{RATE}])))"


# ------------------------------------------------------------------------------------------------ hubs
def hub_board(uid: str, title: str, description: str, sel: str, variables=()) -> Board:
    s = "{" + sel + "}"
    traffic = (
        P("Gói tin chuyển tiếp mỗi phút", "Gói tin trục đã định tuyến đi tiếp, theo loại (edoc, status).",
          (Q(f"sum by (hub, kind) (rate(congvan_hub_packages_relayed_total{s}[{RATE}])) * 60", "{{hub}} {{kind}}"),),
          unit="short"),
        P("Gói tin bị từ chối theo lý do", "Số gói tin/người nhận bị trục từ chối trong mỗi khoảng, theo lý do "
          "(FORMAT_ERROR, INVALID_SIGNATURE, WRONG_RECIPIENT ...).",
          (Q(f"sum by (hub, reason) (increase(congvan_hub_packages_rejected_total{s}[{RATE}]))",
             "{{hub}} {{reason}}"),),
          unit="short"),
        P("Độ trễ chuyển tiếp", "Từ khi edge bên gửi đăng gói tin đến khi gói tin vào hộp thư bên nhận: trung vị "
          "và phân vị 95.",
          (Q(_hist(0.5, "congvan_relay_latency_seconds", "hub", s), "p50 {{hub}}"),
           Q(_hist(0.95, "congvan_relay_latency_seconds", "hub", s), "p95 {{hub}}")), unit="s"),
        P("Chuyển tiếp theo chặng kế tiếp", "Tổng gói tin đã chuyển trong khoảng thời gian đang xem, theo chặng "
          "kế tiếp (hộp thư cơ quan, trục cha, trục tỉnh).",
          (Q(f"sum by (hub, hop) (increase(congvan_hub_packages_relayed_total{s}[$__range]))", "{{hub}} → {{hop}}"),),
          kind="table"),
    )
    queues = (
        P("Hàng đợi lỗi", "Số gói tin trong hàng đợi lỗi (dead letters) của trục; khác 0 là phải xử lý "
          "(`congvan dlq list`).",
          (Q(f"sum by (hub) (congvan_hub_dead_letters{s})", "{{hub}}"),), kind="stat", width=6),
        P("Tiến trình trục đang chạy", "Số tiến trình trục Prometheus đọc được (up) trên tổng số.",
          (Q('sum(up{job="hub"})', "đang chạy"), Q('count(up{job="hub"})', "tổng")), kind="stat", width=6),
        P("Gói tin chờ trong hộp thư", "Số gói tin đang chờ edge của từng cơ quan lấy về.",
          (Q(f"sum by (hub, agency) (congvan_hub_inbox_depth{s})", "{{agency}}"),), unit="short"),
        P("Gói tin chờ lâu nhất", "Tuổi của gói tin cũ nhất trong từng hộp thư; cảnh báo khi quá 8 giờ "
          "(thời hạn vào sổ).",
          (Q(f"max by (hub, agency) (congvan_hub_inbox_oldest_age_seconds{s})", "{{agency}}"),), unit="s",
          width=24),
    )
    return Board(uid, title, description, (("Lưu lượng", traffic), ("Hàng đợi của trục", queues)), variables,
                 ("congvan", "liên thông"))


NATIONAL = hub_board("congvan-hub-national", "Trục liên thông quốc gia — tổng quan",
                     "Trục quốc gia: lưu lượng, từ chối, độ trễ, hàng đợi.", 'hub="national"')
PROVINCIAL = hub_board("congvan-hub-provincial", "Trục liên thông tỉnh — tổng quan",
                       "Các trục tỉnh (chọn trục ở biến hub): lưu lượng, từ chối, độ trễ, hàng đợi.",
                       'hub=~"$hub"',
                       (("hub", "Trục", 'label_values(congvan_hub_packages_relayed_total{hub!="national"}, hub)'),))

# ------------------------------------------------------------------------------------------------ agencies
A = '{agency=~"$agency"}'
AGENCY = Board(
    "congvan-agency-flow", "Luồng văn bản theo cơ quan",
    "Gửi, nhận, độ trễ, outbox và RED của các dịch vụ của một cơ quan.",
    (
        ("Liên thông", (
            P("Gói tin gửi đi mỗi phút", "Gói tin edge của cơ quan đã gửi lên trục, theo loại.",
              (Q(f"sum by (agency, kind) (rate(congvan_edge_packages_sent_total{A}[{RATE}])) * 60",
                 "{{agency}} {{kind}}"),), unit="short"),
            P("Gói tin nhận về mỗi phút", "Gói tin edge lấy từ hộp thư, theo kết quả (chuyển cho sổ đăng ký, "
              "trùng, trả lại ...).",
              (Q(f"sum by (agency, kind, outcome) (rate(congvan_edge_packages_received_total{A}[{RATE}])) * 60",
                 "{{agency}} {{kind}} {{outcome}}"),), unit="short"),
            P("Thời gian đầu-cuối", "Từ khi bên gửi đăng gói tin đến khi sổ đăng ký bên nhận có văn bản: p50, p95.",
              (Q(_hist(0.5, "congvan_edge_end_to_end_seconds", "agency", A), "p50 {{agency}}"),
               Q(_hist(0.95, "congvan_edge_end_to_end_seconds", "agency", A), "p95 {{agency}}")), unit="s"),
            P("Hàng chờ gửi", "Gói tin đã ghi nhưng chưa được trục xác nhận (edge) và sự kiện outbox chưa chuyển "
              "(dịch vụ).",
              (Q(f"sum by (agency) (congvan_edge_outbox_backlog{A})", "edge {{agency}}"),
               Q(f"sum by (agency, service) (congvan_outbox_backlog{A})", "{{service}} {{agency}}")), unit="short"),
        )),
        ("Dịch vụ (RED)", (
            P("Yêu cầu RPC mỗi giây", "Lời gọi RPC theo dịch vụ và kết quả (ok, refused: bị quy tắc nghiệp vụ từ "
              "chối, error: lỗi máy chủ).",
              (Q(f"sum by (service, outcome) (rate(congvan_rpc_requests_total{A}[{RATE}]))",
                 "{{service}} {{outcome}}"),), unit="reqps"),
            # `or 0 * total`: a service without any error shows 0 %, not "no data" (the error series only exists
            # after the first error).
            P("Tỷ lệ lỗi RPC", "Phần lời gọi kết thúc bằng lỗi máy chủ, theo dịch vụ.",
              (Q(f'(sum by (service) (rate(congvan_rpc_requests_total{{agency=~"$agency", outcome="error"}}[{RATE}]))'
                 f" or 0 * sum by (service) (rate(congvan_rpc_requests_total{A}[{RATE}])))"
                 f" / sum by (service) (rate(congvan_rpc_requests_total{A}[{RATE}]))", "{{service}}"),),
              unit="percentunit"),
            P("Thời gian xử lý RPC (p95)", "Phân vị 95 thời gian xử lý RPC theo dịch vụ.",
              (Q(_hist(0.95, "congvan_rpc_duration_seconds", "service", A), "{{service}}"),), unit="s"),
            P("Kho tệp", "Số tệp và dung lượng trong kho tệp của cơ quan.",
              (Q(f"sum by (agency) (congvan_storage_objects{A})", "tệp {{agency}}"),
               Q(f"sum by (agency) (congvan_storage_bytes{A})", "byte {{agency}}")), kind="stat"),
        )),
        ("Cổng web", (
            P("Trang và API mỗi giây", "Yêu cầu HTTP tới cổng web theo nhóm mã trạng thái.",
              (Q(f"sum by (status) (rate(congvan_http_requests_total[{RATE}]))", "{{status}}"),), unit="reqps"),
            P("Thời gian trả trang (p95)", "Phân vị 95 thời gian trả lời theo đường dẫn.",
              (Q(_hist(0.95, "congvan_http_request_duration_seconds", "route"), "{{route}}"),), unit="s"),
        )),
    ),
    (("agency", "Cơ quan", "label_values(congvan_rpc_requests_total, agency)"),),
    ("congvan", "cơ quan"),
)

# ------------------------------------------------------------------------------------------------ queues
QUEUES = Board(
    "congvan-queues", "Hàng đợi RabbitMQ",
    "Hàng đợi của các trục và cơ quan (plugin rabbitmq_prometheus, số liệu theo từng hàng đợi). Bảng điều khiển "
    "chuẩn của RabbitMQ (RabbitMQ-Overview, RabbitMQ-Quorum-Queues-Raft) nằm trong thư mục RabbitMQ.",
    (
        ("Hàng đợi", (
            P("Tin nhắn sẵn sàng theo hàng đợi", "Tin chờ người nhận, theo vhost và hàng đợi.",
              (Q('sum by (vhost, queue) (rabbitmq_queue_messages_ready{vhost=~"$vhost"})', "{{vhost}} {{queue}}"),),
              unit="short"),
            P("Tin đã giao chưa xác nhận", "Tin đang được xử lý (đã giao, chưa ack).",
              (Q('sum by (vhost, queue) (rabbitmq_queue_messages_unacked{vhost=~"$vhost"})', "{{vhost}} {{queue}}"),),
              unit="short"),
            P("Hàng đợi lỗi (dead)", "Tin trong hàng đợi `dead` của các cơ quan, và hàng đợi lỗi của trục (đếm bằng "
              "congvan_hub_dead_letters, vì tên hàng đợi của trục có mã bí mật).",
              (Q('sum by (vhost) (rabbitmq_queue_messages{queue="dead", vhost=~"$vhost"})', "{{vhost}}"),
               Q('sum by (hub) (congvan_hub_dead_letters)', "trục {{hub}}")),
              kind="stat"),
            P("Hàng đợi không có người nhận", "Hàng đợi có tin nhưng không có consumer (tiến trình nhận đã dừng?).",
              (Q('(sum by (vhost, queue) (rabbitmq_queue_messages{vhost=~"$vhost"}) > 0) '
                 'unless (sum by (vhost, queue) (rabbitmq_queue_consumers{vhost=~"$vhost"}) > 0)',
                 "{{vhost}} {{queue}}"),), kind="table", condition=True),
        )),
        ("Broker", (
            P("Tin nhận, định tuyến, giao mỗi giây", "Toàn broker: tin nhận vào, định tuyến tới hàng đợi, giao cho "
              "consumer.",
              (Q(f"sum(rate(rabbitmq_global_messages_received_total[{RATE}]))", "nhận"),
               Q(f"sum(rate(rabbitmq_global_messages_routed_total[{RATE}]))", "định tuyến"),
               Q(f"sum(rate(rabbitmq_global_messages_delivered_total[{RATE}]))", "giao")), unit="short"),
            P("Tin bị chuyển vào hàng đợi lỗi", "Tin bị dead-letter vì vượt số lần giao (delivery-limit).",
              (Q(f"sum(increase(rabbitmq_global_messages_dead_lettered_delivery_limit_total[{RATE}]))",
                 "delivery-limit"),), unit="short"),
            P("Kết nối và kênh", "Số kết nối và kênh AMQP đang mở.",
              (Q("sum(rabbitmq_connections)", "kết nối"), Q("sum(rabbitmq_channels)", "kênh")), kind="stat"),
        )),
    ),
    (("vhost", "vhost", "label_values(rabbitmq_queue_messages, vhost)"),),
    ("congvan", "rabbitmq"),
)

# ------------------------------------------------------------------------------------------------ SLA
SLA = Board(
    "congvan-sla", "Thời hạn và quá hạn",
    "Thời hạn vào sổ, thời gian giao nhận, văn bản quá hạn xử lý, chứng thư số sắp hết hạn.",
    (
        ("Giao nhận", (
            P("Hộp thư so với thời hạn vào sổ", "Tuổi gói tin cũ nhất trong mỗi hộp thư, tính theo phần trăm của "
              "thời hạn vào sổ 8 giờ; 100% là quá hạn.",
              (Q(f"max by (agency) (congvan_hub_inbox_oldest_age_seconds) / {REGISTRATION_LIMIT_SECONDS}",
                 "{{agency}}"),), unit="percentunit"),
            P("Phần gói tin giao trong 60 giây", "Tỷ lệ gói tin tới sổ đăng ký bên nhận trong vòng 60 giây, 1 giờ "
              "gần nhất.",
              (Q('sum(rate(congvan_edge_end_to_end_seconds_bucket{le="60.0"}[1h])) '
                 "/ sum(rate(congvan_edge_end_to_end_seconds_count[1h]))", "≤ 60 s"),), kind="stat",
              unit="percentunit"),
            P("Thời gian đầu-cuối p50 / p95 / p99", "Toàn hệ thống, 1 giờ gần nhất.",
              tuple(Q(f"histogram_quantile({q}, sum by (le) (rate(congvan_edge_end_to_end_seconds_bucket[1h])))",
                      f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)), unit="s"),
        )),
        ("Xử lý và chứng thư", (
            P("Văn bản đến quá hạn xử lý", "Số văn bản đến quá hạn giải quyết theo cơ quan (dịch vụ routing).",
              (Q("sum by (agency) (congvan_documents_overdue)", "{{agency}}"),), kind="stat"),
            P("Chứng thư số: số ngày còn lại", "Số ngày đến khi hết hạn của từng chứng thư ký số; cảnh báo khi còn "
              "dưới 30 ngày.",
              (Q("(congvan_signing_certificate_expiry_timestamp_seconds - time()) / 86400",
                 "{{agency}} {{subject}}"),), kind="table"),
            P("Cảnh báo đang kích hoạt", "Số cảnh báo đang ở trạng thái firing.",
              (Q('count(ALERTS{alertstate="firing"}) or vector(0)', "cảnh báo"),), kind="stat"),
        )),
    ),
    (),
    ("congvan", "sla"),
)

BOARDS = (NATIONAL, PROVINCIAL, AGENCY, QUEUES, SLA)


# ------------------------------------------------------------------------------------------------ build
def _panel(p: P):
    kinds = {"timeseries": timeseries.Panel, "stat": stat.Panel, "table": table.Panel}
    panel = kinds[p.kind]().title(p.title).description(p.description).datasource(DS).span(p.width).height(p.height)
    if p.unit:
        panel = panel.unit(p.unit)
    for i, q in enumerate(p.queries):
        target = gp.Dataquery().expr(q.expr).legend_format(q.legend or "__auto").ref_id(chr(ord("A") + i))
        target = target.datasource(DS)
        panel = panel.with_target(target.instant() if p.kind == "table" else target.range())
    return panel


def build(board: Board) -> dict:
    dash = (gd.Dashboard(board.title).uid(board.uid).description(board.description).tags(list(board.tags))
            .timezone("browser").time("now-6h", "now").refresh("30s").tooltip(DashboardCursorSync.CROSSHAIR)
            .readonly())
    for name, label, query in board.variables:
        dash = dash.with_variable(gd.QueryVariable(name).label(label).query(query).datasource(DS).multi(True)
                                  .include_all(True).all_value(".*").refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))
    if board.uid == QUEUES.uid:
        dash = dash.link(gd.DashboardLink("Bảng điều khiển chuẩn của RabbitMQ").type("dashboards")
                         .tags(["rabbitmq-prometheus"]).as_dropdown(True))
    for row_title, panels in board.rows:
        dash = dash.with_row(gd.Row(row_title))
        for p in panels:
            dash = dash.with_panel(_panel(p))
    return json.loads(JSONEncoder(sort_keys=True, indent=2).encode(dash.build()))


def render(board: Board) -> str:
    return json.dumps(build(board), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for board in BOARDS:
        path = out / f"{board.uid}.json"
        path.write_text(render(board))
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------ checks
def panels() -> Iterator[tuple[Board, str, P]]:
    for board in BOARDS:
        for row, ps in board.rows:
            for p in ps:
                yield board, row, p


def panel_queries(conditions: bool = True) -> Iterator[tuple[str, str, str]]:
    """(dashboard uid, panel title, PromQL) for every query of every panel (`conditions=False`: not those of
    panels that are empty when all is well)."""
    for board, _row, p in panels():
        if conditions or not p.condition:
            for q in p.queries:
                yield board.uid, p.title, q.expr


def concrete(expr: str) -> str:
    """Grafana's variables replaced by what a plain Prometheus accepts: all values, fixed intervals."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__range", "1h")
    return re.sub(r"\$(hub|agency|vhost)\b", ".*", expr)


def rule_queries() -> Iterator[tuple[str, str]]:
    import yaml

    from infra.prometheus import ALERT_RULES

    for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule.get("record"), rule["expr"]


def query(prometheus_url: str, expr: str, client: httpx.Client | None = None) -> dict:
    """POST /api/v1/query; the decoded answer (status success with data, or status error with the reason)."""
    own = client is None
    client = client or httpx.Client(timeout=30)
    try:
        return client.post(f"{prometheus_url.rstrip('/')}/api/v1/query", data={"query": concrete(expr)}).json()
    finally:
        if own:
            client.close()


def queries_without_data(prometheus_url: str, include_rules: bool = True) -> list[str]:
    """Every dashboard and rule query that fails or returns no series on that Prometheus (e.g. the running demo).

    Alert expressions and "what is wrong" panels are conditions (empty when all is well): for rules the query
    checked is the expression with its comparison removed; condition panels are left out."""
    exprs = [e for _uid, _title, e in panel_queries(conditions=False)]
    if include_rules:
        exprs += [_without_comparison(e) for _name, e in rule_queries()]
    empty = []
    with httpx.Client(timeout=30) as client:
        for expr in dict.fromkeys(exprs):
            answer = query(prometheus_url, expr, client)
            if answer.get("status") != "success" or not answer["data"]["result"]:
                empty.append(expr)
    return empty


def _without_comparison(expr: str) -> str:
    """`a > 8 * 3600` -> `a`; `x > 0 and y` -> `x`: the series the condition is about."""
    first = re.split(r"\s(?:and|or|unless)\s", " ".join(expr.split()))[0]
    return re.split(r"\s(?:>|<|==|!=|>=|<=)\s", first)[0].strip()


def main() -> None:
    for path in write():
        print(path.relative_to(HERE.parents[1]))


if __name__ == "__main__":
    sys.exit(main())
