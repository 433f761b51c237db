"""`congvan`: the command line of Công Văn (typer).

Core commands live here; each area adds its own groups through a `register(app)` function
(services/interconnect/cli.py: edxml, directory; services/interconnect/ops_cli.py: dlq, relaylog;
services/signing/cli.py: pki, pdf; services/storage/cli.py: storage; ...).
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

app = typer.Typer(help="Công Văn: quản lý văn bản và liên thông văn bản điện tử.", no_args_is_help=True,
                  add_completion=False)
stack_app = typer.Typer(help="The throwaway test stack (RabbitMQ, PostgreSQL, S3, Prometheus).", no_args_is_help=True)
app.add_typer(stack_app, name="stack")

PLUGINS = [
    "services.interconnect.cli",
    "services.interconnect.ops_cli",
    "services.interconnect.vdxp_cli",
    "services.interconnect.lgsp_cli",
    "services.signing.cli",
    "services.storage.cli",
    "services.registry.cli",
    "services.routing.cli",
    "services.reporting.cli",
    "infra.ops_cli",
    "gateway.cli",
]


@app.command()
def up(fresh: bool = typer.Option(False, help="Delete the demo's data first"),
       empty: bool = typer.Option(False, help="Accounts, registers and tokens only: no sample working day")) -> None:
    """Start the demo: RabbitMQ, the hubs, the demo agencies, the gateway, seeded data and a sample working day."""
    from infra import demo

    demo.up(fresh=fresh, sample=not empty)


@app.command()
def down() -> None:
    """Stop every process of the demo (by PID) and check that none of our ports still listens."""
    from infra import demo

    demo.down()


@app.command()
def status() -> None:
    """Each process of the demo, its PID, port and health."""
    from infra import demo

    raise typer.Exit(demo.status())


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context, chaos: bool = typer.Option(True, help="Also run the slow chaos job")) -> None:
    """Run the whole test suite (ruff, tests, eventlet tests, chaos) against real infrastructure."""
    from infra import testrun

    raise typer.Exit(testrun.run(list(ctx.args), chaos=chaos))


@app.command("screenshots", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def screenshots(ctx: typer.Context) -> None:
    """Retake the README's and the user guide's screenshots (browser tests) and write them into docs/screenshots."""
    from infra import testrun

    raise typer.Exit(testrun.screenshots(list(ctx.args)))


@stack_app.command("up")
def stack_up() -> None:
    """Start the test stack and leave it running (tests and `congvan test` reuse it)."""
    from infra.stack import ensure_system_packages
    from infra.testrun import make_test_stack

    ensure_system_packages()
    stack = make_test_stack()
    if stack.running().get("rabbitmq"):
        typer.echo(f"already running: {stack.run_dir}")
    else:
        stack.stop()
        stack.start()
    typer.echo(stack.write_env_file().read_text())


@stack_app.command("down")
def stack_down() -> None:
    """Stop the test stack and remove its data."""
    from infra.testrun import make_test_stack

    make_test_stack().stop()


def _load_plugins() -> None:
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area has no CLI (yet)
                continue
            raise
        module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _load_plugins()
    app(prog_name="congvan")


if __name__ == "__main__":
    sys.exit(main())
