"""`congvan pki init` and `congvan pdf verify`; infra/cli.py calls register(app).

    congvan pki init [--dir DIR] [--agencies demo|TOPOLOGY.json]
    congvan pdf verify FILE [--trust ROOT.pem ...] [--pki-dir DIR]
                                                      JSON report; exit 0 only if every signature is valid and
                                                      trusted. Trusts the deployment's configured roots
                                                      (SIGNING_TRUST_ROOTS, else the PKI dir's root: SIGNING_PKI_DIR,
                                                      DATA_DIR/pki, or the local demo's var/demo/pki); --trust adds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from services.common.errors import CongVanError
from services.common.settings import REPO_ROOT
from services.signing import pki
from services.signing.settings import SigningSettings
from services.signing.verify import trust_store, verify_pdf


def _agencies(spec: str) -> list[pki.AgencyEntry]:
    from services.interconnect.topology import DEMO, Topology

    topology = DEMO if spec == "demo" else Topology.load(Path(spec))
    return pki.demo_agencies(topology.agencies)


def pki_init(directory: Path | None = typer.Option(None, "--dir", help="PKI directory (default DATA_DIR/pki)"),
             agencies: str = typer.Option("demo", "--agencies", help="'demo' or a topology JSON file")) -> None:
    """Create the test PKI: root and issuing CA, CRLs, TSA, a seal per agency, a leader per agency."""
    target = directory or SigningSettings().pki_dir
    made = pki.init_pki(target, _agencies(agencies))
    typer.echo(json.dumps({"dir": str(made.dir), "root": str(made.root_pem),
                           "agencies": {k: {"seal": v["seal"]["subject"],
                                            "leaders": [ldr["username"] for ldr in v["leaders"]]}
                                        for k, v in made.manifest["agencies"].items()}},
                          ensure_ascii=False, indent=2))


DEMO_PKI = REPO_ROOT / "var" / "demo" / "pki"  # where `congvan up` puts the demo's PKI (infra/demo.py)


def deployment_settings(pki_dir: Path | None = None) -> SigningSettings:
    """The signing settings of this machine's deployment: the environment's, else the local demo's PKI, so that
    `congvan pdf verify` trusts what the deployment trusts without being told (issue 20 item 7)."""
    settings = SigningSettings()
    if pki_dir is not None:
        settings.signing_pki_dir = pki_dir
    elif not settings.signing_pki_dir and not (settings.pki_dir / "root.pem").exists() \
            and (DEMO_PKI / "root.pem").exists():
        settings.signing_pki_dir = DEMO_PKI
        settings.data_dir = DEMO_PKI.parent / "data"  # and the demo's agency data (infra/demo.py)
    return settings


def pdf_verify(file: Path = typer.Argument(..., exists=True, dir_okay=False),
               trust: list[Path] = typer.Option([], "--trust", help="an extra trusted root (PEM/DER); repeatable"),
               pki_dir: Path | None = typer.Option(None, "--pki-dir", help="the deployment's PKI dir")) -> None:
    """Verify every signature of FILE against the deployment's roots (and --trust); print the report as JSON."""
    settings = deployment_settings(pki_dir)
    try:
        report = verify_pdf(file.read_bytes(), trust_store(settings, extra_roots=list(trust)))
    except CongVanError as exc:
        typer.echo(json.dumps({"verdict": "error", **exc.to_dict()}, ensure_ascii=False, indent=2))
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    ok = bool(report["signatures"]) and all(s["valid"] and s["trusted"] for s in report["signatures"])
    raise typer.Exit(0 if ok else 1)


def pki_token(holder: str = typer.Argument(..., help="the person's user id or username, or 'seal' for the agency"),
              agency: str = typer.Option(..., "--agency", help="organ id, e.g. 000.00.00.H60"),
              name: str = typer.Option("", "--name", help="the person's full name (certificate CN)"),
              title: str = typer.Option("", "--title", help="the person's position (certificate title)"),
              pki_dir: Path | None = typer.Option(None, "--pki-dir", help="the test PKI (default: the deployment's)"),
              ) -> None:
    """TEST/DEMO: issue a certificate from the test PKI onto a new SoftHSM2 token of one person (or of the agency
    seal). The PIN is read from standard input, never from the command line. Prints the key reference to bind."""
    from services.signing.pkcs11 import provision_issued

    settings = deployment_settings(pki_dir)
    made = pki.load_pki(settings.pki_dir)
    org = (made.manifest.get("agencies", {}).get(agency) or {}).get("name") or agency
    pin = sys.stdin.readline().rstrip("\n")
    if not pin:
        raise typer.BadParameter("Nhập mã PIN của thiết bị qua đầu vào chuẩn (stdin).")
    if holder == "seal":
        issued = pki.issue_signer(made, org, org=org, org_id=f"VN:{agency}")
        holder = f"agency:{agency}"
    else:
        issued = pki.issue_signer(made, name or holder, org=org, title=title or None)
    try:
        ref = provision_issued(settings.signing_pkcs11_module, holder, issued, pin)
    except CongVanError as exc:
        typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False), err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"holder": holder, "key_ref": ref, "serial": format(issued.cert.serial_number, "x")},
                          ensure_ascii=False))


def pki_enrol(file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help=".cer or .pem"),
              agency: str = typer.Option(..., "--agency", help="organ id, e.g. 000.00.00.H60"),
              holder: str = typer.Option("", "--holder", help="the person's user id (not for --kind seal)"),
              kind: str = typer.Option("personal", "--kind", help="personal or seal"),
              token_label: str = typer.Option("", "--token-label", help="read the certificate from this token"),
              ) -> None:
    """Check a certificate (chain to the configured roots, key usage, validity, revocation) and bind it to a person
    or to the agency seal, as the Chứng thư số screen does. Exit 1 with the reason if refused."""
    from services.common.db import Database
    from services.signing import models
    from services.signing.workflow import Signing, seal_holder

    settings = deployment_settings()
    database = Database("signing", agency, models.Base.metadata, settings)
    try:
        database.create_all()
        key_ref = {"source": "pkcs11", "token_label": token_label} if token_label else None
        result = Signing(settings, database).enrol_certificate(
            seal_holder(agency) if kind == "seal" else holder, kind, file.read_bytes() if file else None, key_ref,
            enrolled_by="congvan pki enrol")
    except CongVanError as exc:
        typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


def pki_renew_tsa(directory: Path | None = typer.Option(None, "--dir", help="PKI directory (default DATA_DIR/pki)"),
                  ) -> None:
    """Renew the test time stamp authority's key and certificate (the running TSA picks it up); then
    `congvan archive refresh` stamps with the new one before the old one expires."""
    made = pki.load_pki(directory or SigningSettings().pki_dir)
    tsa = pki.renew_tsa(made)
    typer.echo(json.dumps({"tsa": tsa.cert.subject.rfc4514_string(), "serial": str(tsa.cert.serial_number),
                           "not_after": tsa.cert.not_valid_after_utc.isoformat()}, ensure_ascii=False, indent=2))


def archive_refresh(agency: list[str] = typer.Option([], "--agency", help="organ id; repeatable (default: all)"),
                    within_days: int = typer.Option(365, "--within-days",
                                                    help="re-stamp when the last stamp expires within N days")) -> None:
    """A new archive time stamp on each issued PDF whose last time stamp's certificate expires soon (B-LTA)."""
    from services.common.db import Databases
    from services.signing import models
    from services.signing.workflow import Signing

    settings = deployment_settings()
    databases = Databases("signing", models.Base.metadata, settings)
    report, failed = {}, False
    for organ in agency or databases.known_agencies():
        try:
            report[organ] = Signing(settings, databases.for_agency(organ)).refresh_archive(within_days)
        except CongVanError as exc:
            report[organ] = exc.to_dict()
            failed = True
        failed = failed or bool(report[organ].get("failed"))
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    pki_app = typer.Typer(help="Hạ tầng khóa công khai thử nghiệm (test PKI)")
    pki_app.command("init")(pki_init)
    pki_app.command("token")(pki_token)
    pki_app.command("enrol")(pki_enrol)
    pki_app.command("renew-tsa")(pki_renew_tsa)
    pdf_app = typer.Typer(help="Kiểm tra chữ ký số trên tệp PDF")
    pdf_app.command("verify")(pdf_verify)
    app.add_typer(pki_app, name="pki")
    app.add_typer(pdf_app, name="pdf")
    archive_app = typer.Typer(help="Lưu trữ văn bản điện tử đã ký số (dấu thời gian lưu trữ)")
    archive_app.command("refresh")(archive_refresh)
    app.add_typer(archive_app, name="archive")


def main() -> None:
    app = typer.Typer()
    register(app)
    app(sys.argv[1:])


if __name__ == "__main__":
    main()
