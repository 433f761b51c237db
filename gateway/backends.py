"""Calls from the gateway to an agency's services (nameko RPC on the agency's vhost), with the acting user."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika.exceptions
from nameko.exceptions import UnknownService
from prometheus_client import Histogram

from services.common.actor import Actor
from services.common.errors import CongVanError, NotFound
from services.common.rpc_client import RpcTimeout, ServiceClient

log = logging.getLogger(__name__)


class ServiceUnavailable(CongVanError):
    code = "service_unavailable"
    http_status = 503


class ServiceFailed(CongVanError):
    """The service answered with an error that is not one of ours: a defect there, not a service that is away."""

    code = "internal_error"
    http_status = 500


# What "the service is away" looks like from here: no broker, no reply in time, or nobody consuming its queue.
DOWN = (RpcTimeout, UnknownService, pika.exceptions.AMQPError, ConnectionError, OSError)
# ... or the service is up but what it needs is not: its database or object store does not answer.
REMOTE_DOWN = {"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError", "ConnectionError",
               "ConnectionRefusedError", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"}


# The writes that cost an installation the most: a registration (number, audit chain, outbox, the events that
# follow) takes several times a page's CPU. At a morning peak, ten clerks registering at once kept the
# installation's cores busy and made every home page wait behind them, for no more registrations a second than two
# at a time gave (docs/performance.md, "Morning peak"). Each gateway worker lets GATEWAY_WRITE_SLOTS of them run
# at once; the others wait their turn here, in order.
HEAVY_WRITES = frozenset({("registry", "register_paper_incoming"), ("registry", "accept_incoming"),
                          ("registry", "issue_outgoing"), ("registry", "register_outgoing_signed")})
SLOT_WAIT = Histogram("congvan_gateway_write_slot_wait_seconds",
                      "Time a registration or issue waited in the gateway for a write slot (GATEWAY_WRITE_SLOTS)",
                      buckets=(0.005, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60))


class WriteSlots:
    """At most `slots` heavy writes of this process at a time (0: no bound); a wait is bounded by `timeout`."""

    def __init__(self, slots: int, timeout: float) -> None:
        self._free = threading.BoundedSemaphore(slots) if slots > 0 else None
        self.timeout = timeout

    @contextmanager
    def held(self, service: str, method: str, actor: Actor) -> Iterator[None]:
        if self._free is None:
            yield
            return
        began = time.monotonic()
        if not self._free.acquire(timeout=self.timeout):
            log.warning("rpc %s.%s for %s: no write slot within %.0fs", service, method, actor.agency_id,
                        self.timeout)
            raise ServiceUnavailable("Hệ thống đang bận vào sổ cho nhiều văn bản; vui lòng thử lại sau ít phút.",
                                     service=service, method=method)
        SLOT_WAIT.observe(time.monotonic() - began)
        try:
            yield
        finally:
            self._free.release()


class Backends:
    """One pooled ServiceClient per installation (the AMQP address of its services), created on first use.

    `configured` are the agencies of AGENCIES_FILE; an agency added later (gateway/platform.py) is found through
    `resolver` (its installation's entry, with its own name) and remembered until `forget`."""

    def __init__(self, agencies: dict[str, dict[str, Any]], timeout: float = 30.0,
                 resolver: Callable[[str], dict[str, Any] | None] | None = None, write_slots: int = 0) -> None:
        self.configured = dict(agencies)
        self.write_slots = WriteSlots(write_slots, timeout)
        self.agencies = dict(agencies)
        self.timeout = timeout
        self.resolver = resolver
        self._clients: dict[str, ServiceClient] = {}
        self._lock = threading.Lock()
        self.on_installation: Callable[[str], None] | None = None  # told of each installation's AMQP address

    @classmethod
    def from_file(cls, path: Path | None, timeout: float = 30.0, write_slots: int = 0) -> Backends:
        agencies = json.loads(Path(path).read_text()) if path and Path(path).exists() else {}
        return cls(agencies, timeout, write_slots=write_slots)

    def info(self, agency_id: str) -> dict[str, Any]:
        found = self.agencies.get(agency_id)
        if found is None and self.resolver is not None:
            found = self.resolver(agency_id)
            if found is not None:
                self.agencies[agency_id] = found
        return found or {}

    def forget(self, agency_id: str) -> None:
        """An agency's record changed (name, installation): read it again at next use."""
        if agency_id not in self.configured:
            self.agencies.pop(agency_id, None)

    def name_of(self, agency_id: str) -> str:
        return self.info(agency_id).get("name", agency_id)

    def client(self, agency_id: str) -> ServiceClient:
        info = self.info(agency_id)
        if not info.get("amqp_uri"):
            raise NotFound("Cơ quan chưa được cấu hình trên cổng này.", agency_id=agency_id)
        uri = info["amqp_uri"]
        with self._lock:
            new = uri not in self._clients
            if new:
                self._clients[uri] = ServiceClient(uri, timeout=self.timeout)
            client = self._clients[uri]
        if new and self.on_installation is not None:
            self.on_installation(uri)
        return client

    def call(self, actor: Actor, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if (service, method) in HEAVY_WRITES:
            with self.write_slots.held(service, method, actor):
                return self._call(actor, service, method, *args, **kwargs)
        return self._call(actor, service, method, *args, **kwargs)

    def _call(self, actor: Actor, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.client(actor.agency_id).call(service, method, actor, *args, **kwargs)
        except CongVanError:
            raise
        except Exception as exc:
            raise refusal(service, method, actor, exc) from exc

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def refusal(service: str, method: str, actor: Actor, exc: Exception) -> CongVanError:
    """"Đang bận" only when the service (or what it needs) is away; any other failure is a defect, said as such."""
    where = {"service": service, "method": method, "error": type(exc).__name__}
    if isinstance(exc, DOWN) or getattr(exc, "exc_type", None) in REMOTE_DOWN:
        log.warning("rpc %s.%s for %s: service away (%s: %s)", service, method, actor.agency_id,
                    type(exc).__name__, exc)
        return ServiceUnavailable("Hệ thống đang bận hoặc dịch vụ chưa sẵn sàng; vui lòng thử lại sau.", **where)
    # RemoteError, MethodNotFound, IncorrectSignature, ...: logged in full, the person gets no stack trace
    log.error("rpc %s.%s for %s failed: %s", service, method, actor.agency_id, exc, exc_info=exc)
    return ServiceFailed("Đã có lỗi hệ thống khi xử lý yêu cầu; lỗi đã được ghi lại. Hãy báo quản trị viên "
                         "(nút “Báo lỗi”) nếu lỗi lặp lại.", **where)
