"""Gateway settings (environment variables; docs/configuration.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    agencies_file: Path | None = Field(None, description="JSON: organ id -> {name, amqp_uri, ...}, one per agency")
    directory_file: Path | None = Field(None, description="Agency directory (JSON/CSV) for picking recipients")
    cookie_secure: bool = Field(False, description="Mark cookies Secure (set true behind HTTPS)")
    session_idle_minutes: int = 120
    max_upload_mb: int = 50
    lockout_failures: int = 5
    lockout_minutes: int = 15
    rpc_timeout: float = 30.0
    hub_reports_file: Path | None = Field(
        None, description="JSON: hub code -> {name, parent, url (the hub's GET /report), token, agencies: [organ ids]}"
                          " for the hub operators' screen; written at provisioning (secret: tokens)")
    hub_report_timeout: float = 15.0


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()
