"""Who runs where: hubs, agencies and their ports. The demo's topology is DEMO; tests build their own.

Every agency runs one nameko process (its registry, routing, signing, storage and reporting services on
vhost `agency.<organ id>`) and one interconnect edge (pika) that talks to its hub. Provincial hubs serve
the agencies of their province and forward the rest to the national hub, which also serves agencies
attached to it directly (ministries, Văn phòng Chính phủ).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HubSpec:
    code: str                 # "national", or the province's level-1 code: "H60"
    name: str
    parent: str | None        # "national" for provincial hubs
    metrics_port: int

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

    @property
    def vhost(self) -> str:
        return f"agency.{self.organ_id}"


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
        AgencySpec("000.00.00.H60", "Ủy ban nhân dân tỉnh Tuyên Quang", "UBND", "H60", "Tuyên Quang", 19211, 19221),
        AgencySpec("000.00.09.H60", "Sở Nội vụ tỉnh Tuyên Quang", "SNV", "H60", "Tuyên Quang", 19212, 19222,
                   parent="000.00.00.H60"),
        AgencySpec("000.00.00.H17", "Ủy ban nhân dân thành phố Đà Nẵng", "UBND", "H17", "Đà Nẵng", 19213, 19223),
        AgencySpec("000.00.00.G22", "Văn phòng Chính phủ", "VPCP", "national", "Hà Nội", 19214, 19224),
    ),
    gateway_port=8080,
    gateway_metrics_port=19209,
    # The national hub's VDXP HTTP API (services/interconnect/vdxp_api.py): vendor systems on the SDK connect here.
    extra={"vdxp_api": {"hub": "national", "port": 19290, "metrics_port": 19291}},
)
