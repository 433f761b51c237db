"""Operator commands of the storage service.

    python -m services.storage.cli scrub --agency 000.00.00.H60    # exit 1 when a blob is corrupt or missing
    python -m services.storage.cli stats --agency 000.00.00.H60

Settings (DATA_DIR, DATABASE_URL, S3_ENDPOINT, ...) come from the environment, as for the services.
"""

from __future__ import annotations

import json

import typer

from services.common.db import Database
from services.storage import records
from services.storage.blobs import blob_store
from services.storage.models import Base
from services.storage.scrub import scrub as run_scrub
from services.storage.settings import StorageSettings

app = typer.Typer(help="Kho tệp: kiểm tra toàn vẹn, thống kê.")


def _open(agency: str | None) -> tuple[StorageSettings, Database]:
    settings = StorageSettings(**({"agency_id": agency} if agency else {}))
    db = Database("storage", settings.agency_id, Base.metadata, settings)
    db.create_all()
    return settings, db


@app.command()
def scrub(agency: str = typer.Option(None, help="Mã định danh cơ quan (mặc định AGENCY_ID)"),
          records_only: bool = typer.Option(False, help="Chỉ so với các tệp đã ghi nhận")) -> None:
    """Tính lại mã băm mọi tệp; báo tệp bị thay đổi hoặc bị mất."""
    settings, db = _open(agency)
    try:
        with db.session() as s:
            expected = records.live_shas(s)
        report = run_scrub(blob_store(settings, settings.agency_id), expected, agency=settings.agency_id)
    finally:
        db.dispose()
    out = report.to_dict()
    if records_only:
        out.pop("unreferenced")
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    if not report.ok:
        typer.echo(f"LỖI: {len(report.corrupt)} tệp bị thay đổi, {len(report.missing)} tệp bị mất.", err=True)
        raise typer.Exit(1)


@app.command()
def stats(agency: str = typer.Option(None, help="Mã định danh cơ quan (mặc định AGENCY_ID)")) -> None:
    """Số tệp, số phiên bản, dung lượng."""
    _settings, db = _open(agency)
    try:
        with db.session() as s:
            typer.echo(json.dumps(records.stats(s), ensure_ascii=False, indent=2))
    finally:
        db.dispose()


if __name__ == "__main__":
    app()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="storage")
