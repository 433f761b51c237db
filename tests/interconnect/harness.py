"""Runs a small interconnect network as real processes: hubs, agency edges and stand-in registries.

Every process is started in its own session and stopped (SIGTERM, then SIGKILL) by `Network.stop`, which the
fixtures call in `finally`, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from infra.procs import free_port
from services.common.db import Database
from services.common.rpc_client import ServiceClient
from services.common.settings import CommonSettings
from services.interconnect import broker
from services.interconnect.models import EdgeBase, EdgeRecipientStatus, HubBase
from services.interconnect.topology import Topology
from services.storage.blobs import blob_store

REPO = Path(__file__).resolve().parents[2]
FAKE_REGISTRY = "tests.interconnect.fake_registry:FakeRegistry"


@contextlib.contextmanager
def provisioned_network(rabbit_admin: Any, stack_env: dict[str, str], topology: Topology,
                        run_dir: Path) -> Iterator[Network]:
    """`topology` written into `run_dir` and provisioned on the test broker, and a Network over it with nothing
    started yet; afterwards every process it started is stopped and the topology unprovisioned."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "topology.json").write_text(topology.to_json())
    try:
        creds = broker.provision(rabbit_admin, topology, run_dir, delivery_limit=3)
        net = Network(topology, creds, run_dir, {"RABBIT_API_URI": stack_env["RABBIT_API_URI"]})
        try:
            yield net
        finally:
            net.stop()
    finally:
        broker.unprovision(rabbit_admin, topology)


class Network:
    def __init__(self, topology: Topology, creds: broker.Credentials, run_dir: Path, env: dict[str, str]) -> None:
        self.topology, self.creds, self.run_dir = topology, creds, Path(run_dir)
        self.data_dir = self.run_dir / "data"
        self.env = {**os.environ, **env, "DATA_DIR": str(self.data_dir), "PYTHONUNBUFFERED": "1"}
        self.env.pop("DATABASE_URL", None)
        self.procs: dict[str, tuple[subprocess.Popen, int]] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str] | None]] = {}
        self.clients: dict[str, ServiceClient] = {}
        self.agency_services: dict[str, str] = {}

    # -- processes ------------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        proc = subprocess.Popen([sys.executable, *argv], cwd=REPO, env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = (proc, port)
        self.commands[name] = (argv, env)

    def restart(self, name: str) -> None:
        """`name` started again as it was last started (command line, environment, metrics port)."""
        argv, env = self.commands[name]
        self._spawn(name, argv, self.procs[name][1], env)

    def files(self) -> list[str]:
        """The `--topology` and `--run-dir` arguments of the network's processes."""
        return ["--topology", str(self.run_dir / "topology.json"), "--run-dir", str(self.run_dir)]

    def start_process(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        """A process of the topology (`argv` and the network's `files()`), or the same started again on the
        metrics port it had; `env` over the network's environment."""
        port = self.procs[name][1] if name in self.procs else free_port()
        self._spawn(name, [*argv, *self.files(), "--metrics-port", str(port)], port, env)

    def start_hub(self, code: str) -> None:
        self.start_process(f"hub:{code}", ["-m", "services.interconnect.hub", "--hub", code])

    def start_edge(self, organ_id: str) -> None:
        self.start_process(f"edge:{organ_id}", ["-m", "services.interconnect.edge", "--agency", organ_id])

    def start_api(self, protocol: str, hub: str, *more: str, port: int | None = None, name: str | None = None,
                  env: dict[str, str] | None = None) -> int:
        """A hub's HTTP API (`services.interconnect.<protocol>_api`: vdxp, lgsp) as the process `name`
        (`<protocol>:<hub>` unless given), with its further arguments `more`; its HTTP port (`port`, or a free
        one). Not waited for: call `wait_healthy` (once its /healthz answers, the API's port listens)."""
        port = port or free_port()
        metrics = free_port()
        self._spawn(name or f"{protocol}:{hub}",
                    ["-m", f"services.interconnect.{protocol}_api", "--hub", hub, *self.files(), "--port", str(port),
                     "--metrics-port", str(metrics), *more], metrics, env)
        return port

    def start_registry(self, organ_id: str) -> None:
        """The agency process behind an edge: the stand-in registry, unless `agency_services` names the real
        services for this agency."""
        port = free_port()
        services = self.agency_services.get(organ_id, FAKE_REGISTRY)
        self._spawn(f"registry:{organ_id}",
                    ["-m", "services.common.agency_process", "--agency", organ_id,
                     "--amqp-uri", self.services_uri(organ_id), "--metrics-port", str(port),
                     "--services", services], port)

    def start(self, agencies: list[str]) -> None:
        for hub in self.topology.hubs:
            self.start_hub(hub.code)
        for organ in agencies:
            self.start_registry(organ)
            self.start_edge(organ)
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for name, (proc, port) in self.procs.items():
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {proc.returncode}: {self.log_tail(name)}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not healthy: {self.log_tail(name)}")
                time.sleep(0.2)

    def metrics(self, name: str) -> str:
        """The /metrics text of the process `name`."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.procs[name][1]}/metrics", timeout=10) as response:
            return response.read().decode()

    def health(self, name: str) -> int:
        """The HTTP status of the process's /healthz (503: a check failing)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.procs[name][1]}/healthz", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def congvan(self, *args: str, env: dict[str, str] | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        """`congvan <args>` as the operator runs it, in its own process, in the network's environment (and `env`)."""
        return subprocess.run([sys.executable, "-c", "from infra.cli import main; main()", *args], cwd=REPO,
                              env={**self.env, **(env or {})}, capture_output=True, text=True, check=check)

    def log_tail(self, name: str, size: int = 3000) -> str:
        return (self.run_dir / f"{name}.log").read_text(errors="replace")[-size:]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc, _port = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for client in self.clients.values():
            client.close()
        for proc, _port in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc, _port in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    # -- the agencies' side ---------------------------------------------------------------------------
    def services_uri(self, organ_id: str) -> str:
        return self.creds.uri(broker.services_user(self.topology, organ_id),
                              broker.agency_vhost(self.topology, organ_id))

    def registry(self, organ_id: str) -> ServiceClient:
        if organ_id not in self.clients:
            self.clients[organ_id] = ServiceClient(self.services_uri(organ_id), size=1, timeout=30)
        return self.clients[organ_id]

    def call(self, organ_id: str, method: str, *args: Any) -> Any:
        """A call to the stand-in registry serving `organ_id`: as that agency when its installation hosts several
        (the stand-in keeps each agency's calls apart by the acting agency, as the real services do)."""
        installation = self.topology.installation_of(organ_id)
        if installation is not None and installation != organ_id:
            return self.call_as(organ_id, installation, method, *args)
        return self.registry(organ_id).call("registry", method, None, *args)

    def call_as(self, organ_id: str, installation: str, method: str, *args: Any) -> Any:
        """A call in the name of `organ_id` to the services of `installation` (an agency added at run time is in
        no topology file)."""
        from services.common.actor import system_actor

        return self.registry(installation).call("registry", method, system_actor(organ_id, "tests"), *args)

    def put_blob(self, organ_id: str, data: bytes) -> str:
        return blob_store(CommonSettings(data_dir=self.data_dir), organ_id).put_bytes(data).sha256

    def read_blob(self, organ_id: str, sha256: str) -> bytes:
        return blob_store(CommonSettings(data_dir=self.data_dir), organ_id).read(sha256)


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.2)


def edoc(topology: Topology, sender: str, recipients: list[str], number: int, attachments: list[dict],
         doc_type: int = 0, target: str | None = None, message_id: str | None = None) -> dict[str, Any]:
    import uuid

    agency = topology.agency(sender)
    day = date(2026, 11, 21)
    notation = f"{agency.abbreviation}-VX"
    return {
        "kind": "edoc",
        "message_id": message_id or str(uuid.uuid4()),
        "document_id": f"{sender},{day:%Y/%m/%d},{number}/{notation}",
        "business": {"doc_type": doc_type, "reason": "Văn bản điện tử mới", "target_document_id": target,
                     "paper": 0, "staff": {"department": "Văn thư", "name": "Lê Văn Hùng", "mobile": "",
                                           "email": ""}, "document_info": None, "replacements": []},
        "from": {"organ_id": sender, "organ_name": agency.name, "organization_in_charge": "", "address": "",
                 "email": "", "telephone": "", "fax": "", "website": ""},
        "to": [{"organ_id": r, "organ_name": topology.agency(r).name} for r in recipients],
        "code_number": str(number), "code_notation": notation,
        "promulgation_place": agency.place, "promulgation_date": day.isoformat(),
        "document_type": {"type": 1, "type_detail": 0, "type_name": "Công văn"},
        "subject": f"Về việc thử nghiệm liên thông số {number}", "content": "Nội dung thử nghiệm",
        "signer": {"competence": "TM. ỦY BAN NHÂN DÂN", "position": "Chủ tịch", "full_name": "Nguyễn Văn An"},
        "due_date": None, "to_places": ["Như trên", "Lưu: VT"],
        "other": {"priority": 0, "sphere_of_promulgation": "", "typer_notation": "", "promulgation_amount": 1,
                  "page_amount": 1, "appendixes": [], "direction": False},
        "response_for": [], "steering_type": 0, "trace": [], "attachments": attachments,
    }


def foreign_package(number: int, sender: str, sender_name: str, notation: str, recipients: list[str],
                    attachments: list | None = None) -> tuple[dict[str, Any], bytes]:
    """An edoc (header, edXML) from an agency the topology does not list (one on an HTTP axis), addressed to
    `recipients` by id; built like `edoc`'s, with a small PDF attached unless `attachments` are given."""
    import copy

    from services.interconnect import edxml
    from services.interconnect.topology import AgencySpec

    topology = Topology(hubs=(), agencies=(AgencySpec(sender, sender_name, notation, "", "", 0, 0),))
    header = copy.deepcopy(edoc(topology, sender, [], number, []))
    header["to"] = [{"organ_id": r, "organ_name": r} for r in recipients]
    header["document_id"] = f"{sender},2026/11/21,{number}/{notation}"
    header["code_notation"] = notation
    data = edxml.build_edoc(header, attachments or [({"name": "cong-van.pdf", "content_type": "application/pdf"},
                                                     b"%PDF-1.7 test " * 100)])
    return header, data


def attachment(net: Network, sender: str, size: int = 30_000) -> dict[str, Any]:
    """An outgoing package's attachment: random bytes put in the sender's blob store."""
    data = os.urandom(size)
    return {"content_id": "cid:1", "name": "Công văn.pdf", "content_type": "application/pdf", "description": "",
            "size": len(data), "sha256": net.put_blob(sender, data)}


def registered(net: Network, organ: str, document_id: str | None = None, kind: str = "edoc") -> list[dict]:
    """What the stand-in registry of `organ` registered, of a kind (prefix: `edoc`, `status`, `status:02`), about
    one document or any."""
    return [r for r in net.call(organ, "registered")
            if r["kind"].startswith(kind) and document_id in (None, r["document_id"])]


def reject_until_dead(channel: Any, creds: broker.Credentials, tries: int = 10) -> None:
    """Rejects (requeued) what a hub's relay queue holds, on `channel` of the hub's vhost, as a hub that keeps
    failing would, until the queue is empty: each rejected delivery counts, and the delivery limit (3 here) sends
    the messages to `dead`."""
    for _ in range(tries):
        method, _props, _body = channel.basic_get(creds.queue(broker.RELAY_QUEUE))
        if method is None:
            return
        channel.basic_nack(method.delivery_tag, requeue=True)


def status_codes(net: Network, organ: str, document_id: str) -> list[str]:
    """The status codes `organ` registered about a document, sorted."""
    return sorted(r["package"]["status_code"] for r in registered(net, organ, document_id, "status"))


def status_package(net: Network, sender: str, to: str, about: dict, code: str, description: str, second: int) -> dict:
    """A status package `sender` sends `to` about the document `about` (as registered), stamped 10:00:`second`."""
    return {
        "kind": "status", "message_id": f"{about['document_id']}|{sender}|{code}",
        "from": {"organ_id": sender, "organ_name": net.topology.agency(sender).name},
        "to": {"organ_id": to},
        "response_for": {"organ_id": about["from"]["organ_id"],
                         "code": f"{about['code_number']}/{about['code_notation']}",
                         "promulgation_date": about["promulgation_date"], "document_id": about["document_id"]},
        "staff": {"department": "Văn thư", "name": "Trần Thị Mai", "mobile": "", "email": ""},
        "status_code": code, "description": description,
        "timestamp": f"2026-11-21T10:00:{second:02d}+07:00",
    }


def sender_view(net: Network, organ: str, document_id: str, recipient: str) -> tuple[str, str] | None:
    """The sender edge's per-recipient view (status, history) of one document."""
    db = Database("edge", organ, EdgeBase.metadata, CommonSettings(data_dir=net.data_dir))
    try:
        with db.session() as s:
            row = s.get(EdgeRecipientStatus, (document_id, recipient))
            return (row.status_code, row.history) if row is not None else None
    finally:
        db.dispose()


HANDLING_STEPS = (("03", "Đã tiếp nhận, vào sổ văn bản đến số 7"), ("04", "Đã phân công xử lý"), ("05", "Đang xử lý"),
                  ("06", "Đã hoàn thành xử lý"))


def answer_03_to_06(net: Network, recipient: str, sender: str, got: dict) -> None:
    """`recipient` answers the document it registered (`got`) with each status 03, 04, 05, 06 in turn; returns
    once `sender` has registered its 01 and all four from it, and the sender edge's view of `recipient` stands
    at 06 with exactly that history."""
    document_id = got["document_id"]
    for second, (code, text) in enumerate(HANDLING_STEPS, start=1):
        net.call(recipient, "send_status", status_package(net, recipient, sender, got, code, text, second))
    wait_for(lambda: sorted(r["package"]["status_code"] for r in registered(net, sender, document_id, "status")
                            if r["package"]["from"]["organ_id"] == recipient) == ["01", "03", "04", "05", "06"],
             what=f"01, 03, 04, 05, 06 from {recipient} at {sender}")
    view = wait_for(lambda: (v := sender_view(net, sender, document_id, recipient)) and v[0] == "06" and v,
                    what=f"{sender}'s view of {recipient} at 06")
    assert sorted(view[1].split(",")) == ["01", "03", "04", "05", "06"]


def hub_relay_log(net: Network, code: str):
    """A hub's relay log (services/interconnect/relaylog.py), read from the network's data."""
    from services.interconnect.relaylog import RelayLog

    db = Database("hub", f"{broker.namespace(net.topology)}hub.{code}", HubBase.metadata,
                  CommonSettings(data_dir=net.data_dir))
    return RelayLog(db, f"hub.{code}")


def add_system(net: Network, protocol: str, system_id: str, agencies: list[str], *options: str) -> str:
    """`congvan <protocol> system-add` (vdxp, lgsp) as the hub's operator runs it, in its own process; the secret it
    prints once."""
    import re

    out = net.congvan(protocol, "system-add", system_id, *[arg for organ in agencies for arg in ("--agency", organ)],
                      *options, "--run-dir", str(net.run_dir)).stdout
    return re.search(r"Khóa bí mật \(chỉ hiện một lần\): (\S+)", out).group(1)


def api_calls(net: Network, protocol: str, hub: str) -> Callable[[str, object], float]:
    """The calls the hub's HTTP API (`<protocol>:<hub>`) has counted so far, as `counted(operation, code)`
    (`congvan_<protocol>_calls_total`, read from its /metrics now)."""
    import re

    text = net.metrics(f"{protocol}:{hub}")

    def counted(operation: str, code: object) -> float:
        found = re.search(rf'congvan_{protocol}_calls_total{{code="{code}",hub="{hub}",operation="{operation}"}} '
                          r"(\S+)", text)
        return float(found.group(1)) if found else 0.0

    return counted
