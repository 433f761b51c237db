"""Operator commands: `congvan backup`, `congvan restore`, `congvan audit verify` (docs/operations.md).

Settings come from the environment like every process's (DATA_DIR, DATABASE_URL, S3_*), so the cron line runs
with the deployment's env file; --data-dir overrides DATA_DIR.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from services.common.errors import CongVanError
from services.common.settings import CommonSettings

DATA_DIR = typer.Option(None, "--data-dir", help="DATA_DIR của triển khai (mặc định: biến môi trường DATA_DIR)")


def _settings(data_dir: Path | None) -> CommonSettings:
    settings = CommonSettings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def _default_backup_dir(settings: CommonSettings) -> Path:
    return Path(settings.data_dir).resolve().parent / "backups"


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="Nhật ký kiểm toán (chuỗi băm).", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @app.command("backup")
    def backup_cmd(to: Path | None = typer.Option(None, "--to", help="Thư mục chứa các bản sao lưu "
                                                                     "(mặc định: <DATA_DIR>/../backups)"),
                   keep: int | None = typer.Option(None, "--keep", min=1, help="Chỉ giữ N bản sao lưu mới nhất"),
                   data_dir: Path | None = DATA_DIR) -> None:
        """Sao lưu cơ sở dữ liệu và kho tệp (nhất quán khi hệ thống đang chạy)."""
        from infra import backup

        settings = _settings(data_dir)
        result = backup.backup(settings, to or _default_backup_dir(settings), keep=keep)
        typer.echo(f"Đã sao lưu {result.files} tệp ({result.bytes} byte) vào {result.path}.")
        for old in result.removed:
            typer.echo(f"Đã xóa bản sao lưu cũ {old.name}.")

    @app.command("restore")
    def restore_cmd(backup_dir: Path = typer.Argument(..., help="Thư mục của một bản sao lưu (congvan-...)"),
                    yes: bool = typer.Option(False, "--yes", help="Không hỏi xác nhận"),
                    data_dir: Path | None = DATA_DIR) -> None:
        """Khôi phục đúng trạng thái tại thời điểm sao lưu. Phải dừng các dịch vụ trước."""
        from infra import backup

        settings = _settings(data_dir)
        if not yes:
            typer.confirm(f"Khôi phục {backup_dir.name}? Dữ liệu hiện tại được chuyển sang thư mục bên cạnh "
                          "DATA_DIR; lược đồ PostgreSQL và đối tượng S3 được thay thế.", abort=True)
        try:
            result = backup.restore(settings, backup_dir)
        except CongVanError as exc:
            typer.echo(exc.message_vi, err=True)
            raise typer.Exit(1) from None
        typer.echo(f"Đã khôi phục {result.files} tệp, {len(result.schemas)} lược đồ, {result.objects} đối tượng S3.")
        if result.moved_aside:
            typer.echo(f"Dữ liệu trước khi khôi phục được giữ tại {result.moved_aside}.")
        for problem in result.audit_problems:
            typer.echo(f"[kiểm toán] {problem}", err=True)
        if result.audit_problems:
            raise typer.Exit(1)

    @audit_app.command("log")
    def audit_log(data_dir: Path | None = DATA_DIR,
                  where: str | None = typer.Option(None, "--where", help="Chỉ chuỗi có tên chứa chuỗi này "
                                                                         "(ví dụ registry, 000_00_00_h60)"),
                  entity: str | None = typer.Option(None, "--entity", help="Bảng (document, register, ...)"),
                  entity_id: str | None = typer.Option(None, "--id", help="Khóa của bản ghi"),
                  actor: str | None = typer.Option(None, "--actor", help="Mã người dùng, hoặc system"),
                  limit: int = typer.Option(50, "--limit", min=1, help="Số bản ghi mới nhất mỗi chuỗi"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
        """Ai đã thay đổi gì: các bản ghi mới nhất của nhật ký kiểm toán, lọc theo bảng, khóa, người thực hiện."""
        from infra import backup
        from services.common import audit_verify

        settings = _settings(data_dir)
        found = []
        for place, engine in audit_verify.discover(settings):
            key = backup.audit_key(settings, place)
            if where and where not in key:
                continue
            for row in audit_verify.entries(engine, entity=entity, entity_id=entity_id, actor=actor, limit=limit):
                found.append({"where": key, **row})
        if as_json:
            typer.echo(json.dumps(found, ensure_ascii=False, indent=1))
            return
        for r in found:
            behalf = f" (thay {r['on_behalf_of']})" if r["on_behalf_of"] else ""
            typer.echo(f"{r['where']} #{r['seq']} {r['at']} {r['actor']}{behalf} {r['action']} "
                       f"{r['entity']}:{r['entity_id']} {r['details']}")
        typer.echo(f"{len(found)} bản ghi.")

    @audit_app.command("verify")
    def audit_verify(data_dir: Path | None = DATA_DIR,
                     against: Path | None = typer.Option(None, "--against", help="Bản sao lưu có ghi mã băm cuối "
                                                                                 "của từng chuỗi để so sánh"),
                     as_json: bool = typer.Option(False, "--json")) -> None:
        """Kiểm tra chuỗi băm của nhật ký kiểm toán trong mọi cơ sở dữ liệu; mã thoát 1 nếu có bản ghi bị sửa,
        xóa hoặc chèn."""
        from infra import backup
        from services.common import audit_verify

        settings = _settings(data_dir)
        heads = backup.load_manifest(against)["audit_heads"] if against else {}
        reports = []
        for where, engine in audit_verify.discover(settings):
            key = backup.audit_key(settings, where)
            expected = heads.get(key)
            reports.append(audit_verify.verify(engine, expected_head=tuple(expected) if expected else None, where=key))
        bad = [r for r in reports if not r.ok]
        if as_json:
            typer.echo(json.dumps([{"where": r.where, "rows": r.rows, "head": list(r.head),
                                    "problems": [p.__dict__ for p in r.problems]} for r in reports],
                                  ensure_ascii=False, indent=1))
        else:
            for r in reports:
                state = "toàn vẹn" if r.ok else f"CÓ {len(r.problems)} VẤN ĐỀ"
                typer.echo(f"{r.where}: {r.rows} bản ghi, {state}")
                for p in r.problems:
                    typer.echo(f"  [{p.kind}] {p.message_vi}")
            typer.echo(f"{len(reports)} nhật ký kiểm toán, {len(bad)} có vấn đề.")
        if bad:
            raise typer.Exit(1)
