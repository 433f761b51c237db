"""`congvan agency add|disable|enable|list`: the province operator's onboarding from a shell (the same logic as the
screen /van-hanh/co-quan and `POST /api/v1/agencies`: gateway/platform.py). Idempotent; starts and restarts
nothing: the running processes serve the new agency at its first request. Reads the gateway's settings
(DATA_DIR or DATABASE_URL, AGENCIES_FILE, HUB_DIRECTORIES, ...) from the environment, like the gateway."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from services.common.errors import CongVanError


def _gateway(data_dir: Path | None, agencies_file: Path | None, hub_directories: str | None):
    from gateway.app import Gateway
    from gateway.settings import GatewaySettings

    # Services away: pika logs every failed connection with its traceback, dozens of lines burying the one
    # Vietnamese line that says what is left to do (the gateway's own warning says the service was away).
    logging.getLogger("pika").setLevel(logging.CRITICAL)

    update: dict = {}
    if data_dir:
        update["data_dir"] = data_dir
    if agencies_file:
        update["agencies_file"] = agencies_file
    if hub_directories is not None:
        update["hub_directories"] = hub_directories
    return Gateway(GatewaySettings().model_copy(update=update))


DATA_DIR = typer.Option(None, "--data-dir", help="DATA_DIR of the installation (default: the environment's)")
AGENCIES = typer.Option(None, "--agencies-file", help="AGENCIES_FILE of the gateway")
HUBS = typer.Option(None, "--hub-directories", help="HUB_DIRECTORIES: the hubs' directory keys, comma-separated")
JSON = typer.Option(False, "--json", help="Machine-readable output")


def register(app: typer.Typer) -> None:
    agency_app = typer.Typer(help="Cơ quan trên nền tảng: thêm, ngừng, cho hoạt động lại, liệt kê.",
                             no_args_is_help=True)

    @agency_app.command("add")
    def add(organ_id: str, name: str = typer.Option(..., "--name", help="Tên cơ quan"),
            installation: str = typer.Option("", help="Cụm máy chủ phục vụ (mặc định: cụm đầu tiên)"),
            parent_name: str = typer.Option("", help="Cơ quan chủ quản"),
            place: str = typer.Option("", help="Địa danh"),
            abbreviation: str = typer.Option("", help="Viết tắt"),
            admin_name: str = typer.Option("", help="Họ tên người quản trị của cơ quan"),
            admin_unit: str = typer.Option("", help="Mã đơn vị trong tên tài khoản quản trị"),
            data_dir: Path | None = DATA_DIR, agencies_file: Path | None = AGENCIES, hub_directories: str | None = HUBS,
            as_json: bool = JSON) -> None:
        """Thêm một cơ quan: sổ văn bản năm nay, tài khoản quản trị (mật khẩu chỉ in một lần), danh bạ liên thông."""
        from gateway.platform import AgencyForm

        g = _gateway(data_dir, agencies_file, hub_directories)
        try:
            done = g.platform.add(AgencyForm(organ_id=organ_id, name=name, installation=installation,
                                             parent_name=parent_name, place=place, abbreviation=abbreviation,
                                             admin_full_name=admin_name, admin_unit=admin_unit))
        except CongVanError as exc:
            typer.echo(exc.message_vi, err=True)
            raise typer.Exit(1) from None
        finally:
            g.backends.close()
        if as_json:
            typer.echo(json.dumps({"agency": done.agency, "created": done.created, "admin": done.admin,
                                   "warnings": done.warnings}, ensure_ascii=False))
            return
        agency = done.agency
        typer.echo(f"{'Đã thêm' if done.created else 'Đã có'} {agency['organ_id']} {agency['name']} "
                   f"(cụm {agency['installation']}).")
        if done.admin:
            typer.echo(f"Tài khoản quản trị: {done.admin['username']}  mật khẩu tạm thời: {done.admin['password']}"
                       "  (chỉ hiển thị lần này; phải đổi ở lần đăng nhập đầu)")
        for warning in done.warnings:
            typer.echo(f"Cảnh báo: {warning}", err=True)

    def _set(organ_id: str, disabled: bool, data_dir, agencies_file, hub_directories) -> None:
        g = _gateway(data_dir, agencies_file, hub_directories)
        try:
            result = g.platform.set_disabled(organ_id, disabled)
        except CongVanError as exc:
            typer.echo(exc.message_vi, err=True)
            raise typer.Exit(1) from None
        finally:
            g.backends.close()
        state = "ngừng sử dụng" if disabled else "đang sử dụng"
        typer.echo(f"{organ_id}: {state}{'' if result['changed'] else ' (không đổi)'}.")
        for warning in result["warnings"]:
            typer.echo(f"Cảnh báo: {warning}", err=True)
        if result["warnings"]:   # the hubs route as before: the operator runs it again
            raise typer.Exit(2)

    @agency_app.command("disable")
    def disable(organ_id: str, data_dir: Path | None = DATA_DIR, agencies_file: Path | None = AGENCIES,
                hub_directories: str | None = HUBS) -> None:
        """Ngừng một cơ quan: người dùng không đăng nhập được, dữ liệu giữ nguyên, gói tin gửi đến bị từ chối (02)."""
        _set(organ_id, True, data_dir, agencies_file, hub_directories)

    @agency_app.command("enable")
    def enable(organ_id: str, data_dir: Path | None = DATA_DIR, agencies_file: Path | None = AGENCIES,
               hub_directories: str | None = HUBS) -> None:
        """Cho một cơ quan đã ngừng hoạt động lại."""
        _set(organ_id, False, data_dir, agencies_file, hub_directories)

    @agency_app.command("list")
    def list_(data_dir: Path | None = DATA_DIR, agencies_file: Path | None = AGENCIES, as_json: bool = JSON) -> None:
        """Các cơ quan trên nền tảng, cụm máy chủ phục vụ và trạng thái."""
        from gateway.platform import agency_view

        g = _gateway(data_dir, agencies_file, None)
        rows = [agency_view(a) for a in g.platform.agencies()]
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False))
            return
        if not rows:
            typer.echo("Chưa có cơ quan nào trên nền tảng (DATA_DIR hoặc DATABASE_URL của cổng đúng chưa?).")
        for row in rows:
            state = "ngừng sử dụng" if row["disabled"] else "đang sử dụng"
            typer.echo(f"{row['organ_id']:<16} {state:<14} cụm {row['installation']:<16} {row['name']}")

    @agency_app.command("operator-add")
    def operator_add(full_name: str, agency: str = typer.Option(..., help="Mã định danh của Sở TTTT"),
                     unit: str = typer.Option("stttt", help="Mã đơn vị trong tên tài khoản"),
                     data_dir: Path | None = DATA_DIR, agencies_file: Path | None = AGENCIES) -> None:
        """Tạo tài khoản người vận hành nền tảng (Sở TTTT); mật khẩu tạm thời chỉ in một lần."""
        from gateway.accounts import account_name, next_free_name, temporary_password, unit_code
        from services.common.actor import Role

        g = _gateway(data_dir, agencies_file, None)
        password = temporary_password()
        try:
            username = next_free_name(account_name(full_name, unit_code(unit)), g.accounts.usernames())
            g.accounts.create_user(username=username, full_name=" ".join(full_name.split()), agency_id=agency,
                                   roles=[Role.PROVINCE_OPERATOR.value], password=password,
                                   unit=unit_code(unit).upper(), position="Vận hành nền tảng",
                                   must_change_password=True)
        except (CongVanError, ValueError) as exc:
            typer.echo(getattr(exc, "message_vi", str(exc)), err=True)
            raise typer.Exit(1) from None
        typer.echo(f"Tài khoản vận hành nền tảng: {username}  mật khẩu tạm thời: {password}  (chỉ hiển thị lần này)")

    app.add_typer(agency_app, name="agency")
