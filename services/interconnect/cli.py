"""`congvan edxml ...` and `congvan directory ...`: operators inspect packages and maintain the agency directory.

infra/cli.py calls register(app); everything a person reads is Vietnamese, machine output is JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from services.common.errors import CongVanError
from services.common.settings import get_settings
from services.interconnect import edxml
from services.interconnect.directory import NATIONAL, AgencyRecord, Directory, open_directory


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def inspect_package(data: bytes) -> dict:
    """The parsed package as printable JSON: header, namespace, and attachments without their bytes."""
    parsed = edxml.parse(data)
    header = dict(parsed.header)
    header["attachments"] = [{"name": a.name, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
                              "content_id": a.content_id, "description": a.description,
                              "zipped_on_wire": a.zipped_on_wire} for a in parsed.attachments]
    return {"kind": parsed.kind, "namespace": parsed.namespace, "envelope_signature": parsed.signature_xml is not None,
            "header": header}


def _open(scope: str, database_url: str | None, data_dir: Path | None) -> Directory:
    update: dict = {}
    if database_url:
        update["database_url"] = database_url
    if data_dir:
        update["data_dir"] = data_dir
    return open_directory(scope, get_settings().model_copy(update=update))


def _line(record: AgencyRecord) -> str:
    notes = []
    if record.locked:
        notes.append("đang khóa")
    if record.valid_from:
        notes.append(f"hiệu lực từ {record.valid_from:%d/%m/%Y}")
    if record.valid_to:
        notes.append(f"hết hiệu lực {record.valid_to:%d/%m/%Y}")
    if record.successor:
        notes.append(f"kế thừa: {record.successor}")
    extra = f"  ({'; '.join(notes)})" if notes else ""
    return f"{record.organ_id:<16} cấp {record.level}  trục {record.hub:<9} {record.name}{extra}"


def register(app: typer.Typer) -> None:
    edxml_app = typer.Typer(help="Gói tin edXML (QCVN 102:2016).", no_args_is_help=True)
    directory_app = typer.Typer(help="Danh bạ cơ quan liên thông (mã định danh, trục phục vụ).",
                                no_args_is_help=True)

    @edxml_app.command("inspect")
    def inspect(file: Path = typer.Argument(..., help="Tệp .edxml")) -> None:
        """In gói tin dưới dạng JSON (tệp đính kèm: tên, kiểu, dung lượng, SHA-256); mã thoát khác 0 nếu gói
        tin không hợp lệ."""
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise _fail(f"Không đọc được tệp {file}: {exc.strerror or exc}") from None
        try:
            result = inspect_package(data)
        except edxml.EdxmlError as exc:
            raise _fail(f"Gói tin không hợp lệ [{exc.reason}]: {exc.message_vi}") from None
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))

    database_url_option = typer.Option(None, "--database-url", help="PostgreSQL URL (mặc định: DATABASE_URL)")
    data_dir_option = typer.Option(None, "--data-dir", help="Thư mục dữ liệu SQLite (mặc định: DATA_DIR)")
    scope_option = typer.Option(NATIONAL, "--scope", help="Danh bạ của trục nào (national, H60, ...)")

    @directory_app.command("import")
    def import_(file: Path = typer.Argument(..., help="Tệp JSON hoặc CSV"), scope: str = scope_option,
                database_url: str | None = database_url_option, data_dir: Path | None = data_dir_option) -> None:
        """Nhập (thêm hoặc cập nhật) danh bạ từ tệp JSON hoặc CSV."""
        if not file.is_file():
            raise _fail(f"Không tìm thấy tệp {file}.")
        directory = _open(scope, database_url, data_dir)
        try:
            count = directory.import_file(file)
        except (CongVanError, ValueError) as exc:
            raise _fail(f"Không nhập được danh bạ: {exc}") from None
        finally:
            directory.database.dispose()
        typer.echo(f"Đã nhập {count} cơ quan vào danh bạ “{scope}”.")

    @directory_app.command("lookup")
    def lookup(text: str = typer.Argument(..., help="Mã định danh (hoặc phần đầu) hay tên cơ quan, có dấu hoặc không"),
               limit: int = typer.Option(20, help="Số kết quả tối đa"),
               as_json: bool = typer.Option(False, "--json", help="In JSON"), scope: str = scope_option,
               database_url: str | None = database_url_option, data_dir: Path | None = data_dir_option) -> None:
        """Tìm cơ quan theo mã định danh hoặc theo tên (không phân biệt dấu, hoa thường)."""
        directory = _open(scope, database_url, data_dir)
        try:
            found = directory.search(text, limit=limit)
        finally:
            directory.database.dispose()
        if as_json:
            typer.echo(json.dumps([record.to_dict() for record in found], ensure_ascii=False, indent=2))
        elif not found:
            raise _fail(f"Không tìm thấy cơ quan nào khớp “{text}”.")
        else:
            for record in found:
                typer.echo(_line(record))

    @directory_app.command("sync")
    def sync(endpoint: str | None = typer.Option(None, "--endpoint", help="Địa chỉ API VDXP (…/mapi) để lấy "
                                                 "getAgenciesList; mật khẩu hệ thống trong biến VDXP_SECRET"),
             system_id: str | None = typer.Option(None, "--system-id", help="Mã hệ thống đã đăng ký với trục"),
             file: Path | None = typer.Option(None, "--file", help="Hoặc: tệp JSON đã lưu của getAgenciesList"),
             as_json: bool = typer.Option(False, "--json", help="In JSON"), scope: str = scope_option,
             database_url: str | None = database_url_option, data_dir: Path | None = data_dir_option) -> None:
        """Đồng bộ danh bạ từ danh sách cơ quan của trục quốc gia (VDXP getAgenciesList): thêm, đổi tên, đổi cấp
        trên, sáp nhập, ngừng; lưu lịch sử thay đổi và in báo cáo."""
        from services.interconnect import directory_sync
        from services.interconnect.vdxp_edge import AxisClient, AxisError

        if (file is None) == (endpoint is None):
            raise _fail("Chọn một nguồn: --endpoint (kèm --system-id và biến VDXP_SECRET) hoặc --file.")
        directory = _open(scope, database_url, data_dir)
        try:
            if file is not None:
                planned = directory_sync.sync_from_file(directory, file)
            else:
                secret = os.environ.get("VDXP_SECRET", "")
                if not system_id or not secret:
                    raise _fail("Thiếu --system-id hoặc biến môi trường VDXP_SECRET (mật khẩu hệ thống của trục).")
                planned = directory_sync.sync_from_axis(directory, AxisClient(endpoint or "", system_id, secret))
        except (CongVanError, OSError) as exc:
            raise _fail(f"Không đồng bộ được danh bạ: {exc}") from None
        except AxisError as exc:
            raise _fail(f"Trục trả lỗi khi lấy danh sách cơ quan: {exc}") from None
        finally:
            directory.database.dispose()
        if as_json:
            typer.echo(json.dumps({"counts": planned.counts(), "skipped": planned.skipped,
                                   "changes": [c._asdict() for c in planned.changes]}, ensure_ascii=False))
        else:
            typer.echo("\n".join(directory_sync.report_lines(planned)))

    app.add_typer(edxml_app, name="edxml")
    app.add_typer(directory_app, name="directory")
