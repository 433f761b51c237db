"""nameko glue shared by every agency service: the acting user, RED metrics, the database, and a client.

In a service:

    class RegistryService:
        name = "registry"
        actor = ActingUser()                     # self.actor.required() -> Actor, or Unauthenticated
        metrics = RpcMetrics()                   # requests / errors / duration per method
        db = DatabaseProvider("registry", models.Base.metadata)   # the Database of the actor's agency

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
from services.common.db import Database, Databases, WorkList
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
    """RED metrics per agency (the acting user's, else the event's `agency_id`; "" for timers, which serve every
    agency that has work), service and method."""

    def setup(self) -> None:
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
        agency = worker_agency(worker_ctx)
        if not agency and worker_ctx.args and isinstance(worker_ctx.args[0], dict):
            agency = str(worker_ctx.args[0].get("agency_id") or "")   # an event handler: the event's agency
        RPC_REQUESTS.labels(agency, service, method, outcome).inc()
        if started is not None:
            RPC_DURATION.labels(agency, service, method).observe(time.perf_counter() - started)


def settings_from_config(config: dict[str, Any]) -> CommonSettings:
    """nameko passes its config dict to extensions; map the keys we use onto CommonSettings."""
    keys = {k.lower(): v for k, v in config.items() if isinstance(k, str)}
    return CommonSettings(**{k: v for k, v in keys.items() if k in CommonSettings.model_fields and v is not None})


class NoAgency:
    """What a worker without an acting user (a timer, an event handler) gets as its database: it names no agency,
    so it opens none; the handler picks the agency from its event or its work list with `for_agency`."""

    agency_id = ""

    def __init__(self, databases: Databases) -> None:
        self.databases = databases
        self.service = databases.service

    def for_agency(self, agency_id: str) -> Database:
        return self.databases.for_agency(agency_id)

    def worklist(self, job: str) -> WorkList:
        return self.databases.worklist(job)

    def session(self) -> Any:
        raise LookupError(f"{self.service}: this unit of work has no acting user; name the agency with "
                          "db.for_agency(agency_id)")


class DatabaseProvider(DependencyProvider):
    """The Database of the worker's agency (from the acting user in the nameko context), out of the service's
    `Databases` (services/common/db.py: one pool, a schema or a file per agency, opened on first use). A worker
    without an acting user gets `NoAgency`. Every write through it lands in the service's hash-chained audit_log,
    naming the worker's acting user (services/common/audit.py)."""

    def __init__(self, service: str, metadata: MetaData, audit: bool = True) -> None:
        self.service = service
        self.metadata = metadata
        self.audit = audit
        self.databases: Databases | None = None

    def setup(self) -> None:
        settings = settings_from_config(self.container.config)
        self.databases = Databases(self.service, self.metadata, settings, audit=self.audit)
        if settings.agency_id:
            # A process started for one agency (--agency) opens it at once, so its tables exist from the start.
            self.databases.for_agency(settings.agency_id)

    def worker_setup(self, worker_ctx) -> None:
        # Runs in the worker's greenthread, like the handler: the audit hook finds the acting user there.
        audit_chain.set_worker(worker_ctx)

    def worker_teardown(self, worker_ctx) -> None:
        audit_chain.clear_worker()

    def stop(self) -> None:
        if self.databases:
            self.databases.dispose()

    def get_dependency(self, worker_ctx) -> Database | NoAgency:
        assert self.databases is not None
        agency = worker_agency(worker_ctx)
        return self.databases.for_agency(agency) if agency else NoAgency(self.databases)


def worker_agency(worker_ctx) -> str:
    """The agency of the worker's acting user, or "" when it has none."""
    actor = worker_ctx.data.get(ACTOR_KEY) or {}
    return str(actor.get("agency_id") or "") if isinstance(actor, dict) else ""


def sibling_databases(container, attr_name: str, owner: str) -> Databases:
    """The `Databases` of the service's DatabaseProvider at `attr_name`, for extensions (outbox relay, mail sender)
    that read and write the service's own tables from outside a worker."""
    for dep in container.dependencies:
        if getattr(dep, "attr_name", None) == attr_name and getattr(dep, "databases", None) is not None:
            return dep.databases
    raise RuntimeError(f"{owner}: no DatabaseProvider at attribute {attr_name!r}")
