"""Calls from the gateway to an agency's services (nameko RPC on the agency's vhost), with the acting user."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika.exceptions
from nameko.exceptions import UnknownService

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


class Backends:
    """One pooled ServiceClient per installation (the AMQP address of its services), created on first use.

    `configured` are the agencies of AGENCIES_FILE; an agency added later (gateway/platform.py) is found through
    `resolver` (its installation's entry, with its own name) and remembered until `forget`."""

    def __init__(self, agencies: dict[str, dict[str, Any]], timeout: float = 30.0,
                 resolver: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        self.configured = dict(agencies)
        self.agencies = dict(agencies)
        self.timeout = timeout
        self.resolver = resolver
        self._clients: dict[str, ServiceClient] = {}
        self._lock = threading.Lock()
        self.on_installation: Callable[[str], None] | None = None  # told of each installation's AMQP address

    @classmethod
    def from_file(cls, path: Path | None, timeout: float = 30.0) -> Backends:
        agencies = json.loads(Path(path).read_text()) if path and Path(path).exists() else {}
        return cls(agencies, timeout)

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
