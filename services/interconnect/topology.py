"""Who runs where: hubs, agencies and their ports. The demo's topology is DEMO; tests build their own.

An installation is one set of processes serving any number of agencies: one nameko process (registry,
routing, signing, storage and reporting on vhost `agency.<organ id>` of its first agency, which names the
installation) and one interconnect edge (pika) with one broker identity and one inbox on its hub, like an
X-Road security server hosting many members. An agency whose `installation` is set is hosted by that
installation and has no process, vhost or broker user of its own; agencies added at run time by onboarding
join an installation the same way (the hubs' directories record it). Provincial hubs serve the agencies of
their province and forward the rest to the national hub, which also serves agencies attached to it directly
(ministries, Văn phòng Chính phủ).

An agency whose `hub` names an HTTP axis instead of one of our hubs (CLIENT_AXES: `vdxp`, the national axis's API;
`lgsp`, a provincial LGSP) reaches it through that axis's client edge instead of the RabbitMQ edge; its endpoint and
system id are in `extra.axis_clients[organ id]` or on the edge's command line, its secret never in a topology.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

EDGE_MODULE = "services.interconnect.edge"
CLIENT_AXES = {"vdxp": "services.interconnect.vdxp_edge", "lgsp": "services.interconnect.lgsp_edge"}


@dataclass(frozen=True)
class HubSpec:
    code: str                 # "national", or the province's level-1 code: "H60"
    name: str
    parent: str | None        # "national" for provincial hubs
    metrics_port: int
    # The hub's own RabbitMQ, when each hub has one (issue 17 item 5): {"host", "amqp_port", "amqps_port"}.
    # amqp_port: the hub process and its agencies; amqps_port: the neighbour hubs' links (mutual TLS). None:
    # the hub is a vhost of the one shared broker (Credentials.host/port), linked to its neighbours there.
    broker: dict | None = None

    @property
    def vhost(self) -> str:
        return f"hub.{self.code}"


@dataclass(frozen=True)
class AgencySpec:
    organ_id: str             # mã định danh, e.g. 000.00.00.H60
    name: str                 # UBND tỉnh Tuyên Quang
    abbreviation: str         # used in notations: QĐ-UBND, UBND-VX
    hub: str                  # code of the hub that serves it
    place: str                # địa danh on documents: "Tuyên Quang"
    services_metrics_port: int
    edge_metrics_port: int
    parent: str | None = None
    installation: str | None = None   # organ id of the installation hosting it; None: it is an installation

    @property
    def vhost(self) -> str:
        return f"agency.{self.installation or self.organ_id}"

    @property
    def installation_id(self) -> str:
        return self.installation or self.organ_id


@dataclass(frozen=True)
class Topology:
    hubs: tuple[HubSpec, ...]
    agencies: tuple[AgencySpec, ...]
    gateway_port: int = 8080
    gateway_metrics_port: int = 0   # the gateway's /metrics listener (loopback; not on the web port); 0: none
    extra: dict = field(default_factory=dict)

    def hub(self, code: str) -> HubSpec:
        return next(h for h in self.hubs if h.code == code)

    def agency(self, organ_id: str) -> AgencySpec:
        return next(a for a in self.agencies if a.organ_id == organ_id)

    def agencies_of(self, hub_code: str) -> list[AgencySpec]:
        return [a for a in self.agencies if a.hub == hub_code]

    def installations(self) -> list[AgencySpec]:
        """The agencies that are installations (each runs its processes and has its broker identity)."""
        return [a for a in self.agencies if a.installation is None]

    def installations_of(self, hub_code: str) -> list[AgencySpec]:
        return [a for a in self.installations() if a.hub == hub_code]

    def hosted_by(self, installation: str) -> list[AgencySpec]:
        """Every agency an installation hosts, its own first."""
        return [a for a in self.agencies if a.installation_id == installation]

    def installation_of(self, organ_id: str) -> str | None:
        agency = next((a for a in self.agencies if a.organ_id == organ_id), None)
        return agency.installation_id if agency is not None else None

    def edge_module(self, organ_id: str) -> str:
        """The module of an installation's edge process: its axis's client edge, else the RabbitMQ edge."""
        return CLIENT_AXES.get(self.agency(organ_id).hub, EDGE_MODULE)

    def axis_client(self, organ_id: str) -> dict:
        """How an installation on an HTTP axis reaches it: {"endpoint", "system_id"} (no secret), or {}."""
        return dict((self.extra.get("axis_clients") or {}).get(organ_id) or {})

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Topology:
        data = json.loads(text)
        return cls(hubs=tuple(HubSpec(**h) for h in data["hubs"]),
                   agencies=tuple(AgencySpec(**a) for a in data["agencies"]),
                   gateway_port=data.get("gateway_port", 8080),
                   gateway_metrics_port=data.get("gateway_metrics_port", 0),
                   extra=data.get("extra", {}))

    @classmethod
    def load(cls, path: Path) -> Topology:
        return cls.from_json(Path(path).read_text())


DEMO = Topology(
    hubs=(
        HubSpec("national", "Trục liên thông văn bản quốc gia", None, 19201),
        HubSpec("H60", "Trục liên thông văn bản tỉnh Tuyên Quang", "national", 19202),
        HubSpec("H17", "Trục liên thông văn bản thành phố Đà Nẵng", "national", 19203),
    ),
    agencies=(
        # The installation of Tuyên Quang (run by its Sở TTTT) hosts UBND tỉnh and two departments.
        AgencySpec("000.00.00.H60", "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "H60", "Tuyên Quang", 19211, 19221),
        AgencySpec("000.00.09.H60", "Sở Nội vụ tỉnh Tuyên Quang", "SNV", "H60", "Tuyên Quang", 0, 0,
                   parent="000.00.00.H60", installation="000.00.00.H60"),
        AgencySpec("000.00.02.H60", "Sở Tài chính tỉnh Tuyên Quang", "STC", "H60", "Tuyên Quang", 0, 0,
                   parent="000.00.00.H60", installation="000.00.00.H60"),
        # The installation of Đà Nẵng hosts UBND thành phố and two departments.
        AgencySpec("000.00.00.H17", "Ủy ban nhân dân thành phố Đà Nẵng", "UBND", "H17", "Đà Nẵng", 19213, 19223),
        AgencySpec("000.00.09.H17", "Sở Nội vụ thành phố Đà Nẵng", "SNV", "H17", "Đà Nẵng", 0, 0,
                   parent="000.00.00.H17", installation="000.00.00.H17"),
        AgencySpec("000.00.02.H17", "Sở Tài chính thành phố Đà Nẵng", "STC", "H17", "Đà Nẵng", 0, 0,
                   parent="000.00.00.H17", installation="000.00.00.H17"),
        # Văn phòng Chính phủ: an installation of one on the national hub.
        AgencySpec("000.00.00.G22", "Văn phòng Chính phủ", "VPCP", "national", "Hà Nội", 19214, 19224),
    ),
    gateway_port=8080,
    gateway_metrics_port=19209,
    # The national hub's VDXP HTTP API (services/interconnect/vdxp_api.py): vendor systems on the SDK connect here;
    # Tuyên Quang's hub's LGSP API (lgsp_api.py): document systems that are clients of a provincial LGSP.
    extra={"vdxp_api": {"hub": "national", "port": 19290, "metrics_port": 19291},
           "lgsp_api": {"hub": "H60", "port": 19292, "metrics_port": 19293}},
)
