"""nameko glue shared by every agency service: the acting user, RED metrics, the database, and a client.

In a service:

    class RegistryService:
        name = "registry"
        actor = ActingUser()                     # self.actor.required() -> Actor, or Unauthenticated
        metrics = RpcMetrics()                   # requests / errors / duration per method
        db = DatabaseProvider("registry", models.Base.metadata)

Outside (gateway, edge, tests): `services.common.rpc_client.ServiceClient`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData

from services.common import audit as audit_chain
from services.common.actor import Actor
from services.common.db import Database
from services.common.errors import CongVanError
from services.common.observability import RPC_DURATION, RPC_REQUESTS
from services.common.settings import CommonSettings

log = logging.getLogger(__name__)

ACTOR_KEY = "actor"


class _ActorAccess:
    def __init__(self, data: dict[str, Any] | None) -> None:
        self._data = data

    def required(self) -> Actor:
        return Actor.from_dict(self._data)

    def optional(self) -> Actor | None:
        return Actor.from_dict(self._data) if self._data else None


class ActingUser(DependencyProvider):
    """The actor the caller put in the nameko context. Calls without one are refused by `required()`."""

    def get_dependency(self, worker_ctx) -> _ActorAccess:
        return _ActorAccess(worker_ctx.data.get(ACTOR_KEY))


class RpcMetrics(DependencyProvider):
    def setup(self) -> None:
        self.agency = str(self.container.config.get("AGENCY_ID", ""))
        self._starts: dict[int, float] = {}

    def worker_setup(self, worker_ctx) -> None:
        self._starts[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self._starts.pop(id(worker_ctx), None)
        method = worker_ctx.entrypoint.method_name
        service = worker_ctx.service_name
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], CongVanError):
            outcome = "refused"  # a business rule said no: not a server fault
        else:
            outcome = "error"
            log.error("%s.%s failed", service, method, exc_info=exc_info)
        RPC_REQUESTS.labels(self.agency, service, method, outcome).inc()
        if started is not None:
            RPC_DURATION.labels(self.agency, service, method).observe(time.perf_counter() - started)


def settings_from_config(config: dict[str, Any]) -> CommonSettings:
    """nameko passes its config dict to extensions; map the keys we use onto CommonSettings."""
    keys = {k.lower(): v for k, v in config.items() if isinstance(k, str)}
    return CommonSettings(**{k: v for k, v in keys.items() if k in CommonSettings.model_fields and v is not None})


class DatabaseProvider(DependencyProvider):
    """One `Database` per container (service instance), tables created at start. Every write through it lands
    in the service's hash-chained audit_log, naming the worker's acting user (services/common/audit.py)."""

    def __init__(self, service: str, metadata: MetaData, audit: bool = True) -> None:
        self.service = service
        self.metadata = metadata
        self.audit = audit
        self.database: Database | None = None

    def setup(self) -> None:
        settings = settings_from_config(self.container.config)
        self.database = Database(self.service, settings.agency_id, self.metadata, settings, audit=self.audit)
        self.database.create_all()

    def worker_setup(self, worker_ctx) -> None:
        # Runs in the worker's greenthread, like the handler: the audit hook finds the acting user there.
        audit_chain.set_worker(worker_ctx)

    def worker_teardown(self, worker_ctx) -> None:
        audit_chain.clear_worker()

    def stop(self) -> None:
        if self.database:
            self.database.dispose()

    def get_dependency(self, worker_ctx) -> Database:
        assert self.database is not None
        return self.database


def sibling_database(container, attr_name: str, owner: str) -> Database:
    """The Database of the service's DatabaseProvider at `attr_name`, for extensions (outbox relay, mail sender)
    that read and write the service's own tables from outside a worker."""
    for dep in container.dependencies:
        if getattr(dep, "attr_name", None) == attr_name and getattr(dep, "database", None) is not None:
            return dep.database
    raise RuntimeError(f"{owner}: no DatabaseProvider at attribute {attr_name!r}")
