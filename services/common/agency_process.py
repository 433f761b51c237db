"""The document services of an installation: its nameko services in one process, on the installation's vhost.

    python -m services.common.agency_process --installation tuyenquang --amqp-uri amqp://.../installation.tuyenquang
    python -m services.common.agency_process --agency 000.00.00.H60 --amqp-uri amqp://.../agency.000.00.00.H60 \
        --metrics-port 19211                                       # an installation of one agency (the demo today)

The services serve every agency their callers act for (docs/architecture.md "Inside an installation"): an
installation process names no agency; `--agency` only opens that agency's tables at start.

The process is eventlet-patched (nameko needs it), serves /metrics and /healthz, and runs every service
listed in SERVICES whose module exists. Settings come from the environment (docs/configuration.md);
command-line flags override them.
"""

import os

# psycopg's default C wait loop ignores eventlet: a query waiting on a row lock would freeze every green
# thread of the process. Its select()-based loop is green once select is patched. Set before psycopg loads.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import nameko.events  # noqa: E402
import nameko.rpc  # noqa: E402
from nameko.messaging import QueueConsumer  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.utils import sanitize_url  # noqa: E402
from nameko.utils.concurrency import SpawningProxy  # noqa: E402

from services.common.observability import serve_metrics  # noqa: E402
from services.common.settings import CommonSettings  # noqa: E402

# module:Class of each agency service, in start order. Each owns its tables (ARCHITECTURE.md).
SERVICES = [
    "services.storage.service:StorageService",
    "services.signing.service:SigningService",
    "services.registry.service:RegistryService",
    "services.routing.service:RoutingService",
    "services.reporting.service:ReportingService",
]

log = logging.getLogger("congvan.agency")

# Exit status when a service container died: the process supervisor (docs/operations.md) starts it again.
EXIT_CONTAINER_DIED = 70
STOP_GRACE = 15.0   # seconds the surviving containers get to stop before the process exits anyway


class LenientResponder(nameko.rpc.Responder):
    """An RPC reply that cannot be published is given up, not fatal.

    nameko kills the whole service container when `send_response` raises, so a worker whose reply was in flight
    while the broker restarted took every RPC of that service down with it until the process was restarted.
    The reply's queue belonged to a caller connection that the restart closed anyway; callers time out and call
    again, and every handler is idempotent (at-least-once), so losing the reply loses nothing."""

    def send_response(self, result, exc_info):
        try:
            return super().send_response(result, exc_info)
        except Exception as exc:  # connection errors of kombu/amqp/OS: none can be answered any more
            log.warning("reply to %s (correlation %s) lost: %s; the caller will call again",
                        self.message.properties.get("reply_to"), self.message.properties.get("correlation_id"),
                        exc.__class__.__name__)
            return result, exc_info


# The Rpc entrypoint looks Responder up in its module on every call.
nameko.rpc.Responder = LenientResponder


def _unless_connection_lost(settle: Callable[[QueueConsumer, Any], None]) -> Callable[[QueueConsumer, Any], None]:
    """nameko ignores amqp's ConnectionError when it acks or requeues a message on a dead connection, but not the
    OS's (ConnectionResetError, BrokenPipeError), and then kills the container. Either way the broker has
    already taken the unacked message back and delivers it again; the handlers are idempotent."""

    def settle_or_log(consumer: QueueConsumer, message: Any) -> None:
        try:
            settle(consumer, message)
        except OSError as exc:
            log.warning("%s of a message lost with its connection (%s): the broker delivers it again",
                        settle.__name__, exc.__class__.__name__)

    return settle_or_log


QueueConsumer.ack_message = _unless_connection_lost(QueueConsumer.ack_message)
QueueConsumer.requeue_message = _unless_connection_lost(QueueConsumer.requeue_message)


def _quorum(setup: Callable[[Any], None]) -> Callable[[Any], None]:
    """On a cluster, the queues a service consumes from (rpc-<service>, its event handlers' queues) must outlive
    the node they were declared on: quorum queues, replicated on a majority of the nodes (docs/deployment.md).
    nameko declares them durable but classic; RabbitMQ cannot change a queue's type by policy."""

    def setup_quorum(entrypoint: Any) -> None:
        setup(entrypoint)
        queue = getattr(entrypoint, "queue", None)
        if queue is not None and queue.durable and not queue.auto_delete and not queue.exclusive:
            queue.queue_arguments = {**(queue.queue_arguments or {}), "x-queue-type": "quorum"}

    return setup_quorum


def _transient(setup: Callable[[Any], None]) -> Callable[[Any], None]:
    """A service's RPC reply queue (`rpc.reply-<service>-<uuid>`, one per process life) is declared durable by
    nameko. A durable classic queue whose node is down cannot be declared again anywhere ("home node … is down"),
    and the process's consumer set, which holds the service's own queues too, then never reconnects: nothing is
    served until that node returns. Transient, it is dropped with its node and declared again on another; a reply
    in flight is lost with it and the caller calls again (every handler is idempotent)."""

    def setup_transient(listener: Any) -> None:
        setup(listener)
        listener.queue.durable = False

    return setup_transient


def _log_connection_error(consumer: QueueConsumer, exc: Exception, interval: float) -> None:
    # nameko masks the password of the first URI only; a cluster's URI names every node with it
    log.warning("error connecting to the broker at %s (%s); retrying in %s s",
                ";".join(sanitize_url(u) for u in str(consumer.amqp_uri).split(";")), exc, interval)


def use_cluster_queues() -> None:
    nameko.rpc.RpcConsumer.setup = _quorum(nameko.rpc.RpcConsumer.setup)
    nameko.events.EventHandler.setup = _quorum(nameko.events.EventHandler.setup)
    nameko.rpc.ReplyListener.setup = _transient(nameko.rpc.ReplyListener.setup)


QueueConsumer.on_connection_error = _log_connection_error


def load_services(names: list[str]) -> list[type]:
    classes = []
    for spec in names:
        module_name, cls_name = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not built yet: the others still run
                log.warning("service %s is not available: %s", spec, exc)
                continue
            raise
        classes.append(getattr(module, cls_name))
    return classes


def nameko_config(settings: CommonSettings) -> dict:
    config = {k.upper(): v for k, v in settings.model_dump().items() if v is not None}
    config["DATA_DIR"] = str(settings.data_dir)
    config["AMQP_URI"] = settings.amqp_uri
    config["max_workers"] = int(os.environ.get("NAMEKO_MAX_WORKERS", "10"))
    config["serializer"] = "json"
    return config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agency", help="organ id whose tables are opened at start (an installation of one); "
                        "the services serve every agency their callers act for")
    parser.add_argument("--installation", help="name of the installation this process serves (health and logs)")
    parser.add_argument("--amqp-uri")
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--services", help="comma-separated module:Class list (default: all)")
    args = parser.parse_args()
    overrides = {k: v for k, v in {"agency_id": args.agency, "installation": args.installation,
                                   "amqp_uri": args.amqp_uri, "metrics_port": args.metrics_port}.items() if v}
    settings = CommonSettings(**overrides)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.amqp_quorum_queues:
        use_cluster_queues()
    classes = load_services(args.services.split(",") if args.services else SERVICES)
    runner = ServiceRunner(nameko_config(settings))
    for cls in classes:
        runner.add_service(cls)
    running = {"ok": False}
    serve_metrics(settings.metrics_port, lambda: {"services": running["ok"]}, host=settings.metrics_host,
                  agency=settings.agency_id, installation=settings.installation,
                  services=",".join(c.name for c in classes))
    runner.start()
    running["ok"] = True
    log.info("installation %s (agency %s): %s running", settings.installation or "-", settings.agency_id or "any",
             ", ".join(c.name for c in classes))

    def _stop(*_):
        running["ok"] = False
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    wait_or_exit(runner, running)


def wait_or_exit(runner: ServiceRunner, running: dict) -> None:
    """Returns when every container stopped; exits the process if one died.

    Not `runner.wait()`: when one container dies it stops the others gracefully, and a graceful stop waits on
    a broker that may be the reason of the death. The process then lingered with its consumers gone, healthy
    to the eye and answering nothing. Here it stops what it can within STOP_GRACE and exits, so that its
    supervisor (systemd, compose's `restart:`, `congvan up`'s watcher) starts a fresh one."""
    try:
        SpawningProxy(runner.containers, abort_on_error=True).wait()
    except Exception:
        running["ok"] = False
        log.exception("a service container died; stopping the others and exiting (status %d) to be restarted",
                      EXIT_CONTAINER_DIED)
        with eventlet.Timeout(STOP_GRACE, False):
            runner.kill()
        logging.shutdown()
        sys.stdout.flush()
        os._exit(EXIT_CONTAINER_DIED)


if __name__ == "__main__":
    main()
