"""Settings shared by every process, read from environment variables (see docs/configuration.md).

Embedded defaults make the demo run with no set-up: SQLite files and a local folder under DATA_DIR.
DATABASE_URL switches every service to PostgreSQL, S3_ENDPOINT switches file storage to S3.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    agency_id: str = Field("", description="The agency a process was started for (an installation of one: its "
                           "tables are opened at start). Services take each call's agency from its acting user, "
                           "event or package, never from here")
    amqp_uri: str = Field("amqp://guest:guest@127.0.0.1:5672/", description="Broker of the agency's vhost; a "
                          "cluster's nodes separated by ';' (amqp://n1/vh;amqp://n2/vh), tried in order")
    amqp_quorum_queues: bool = Field(False, description="A RabbitMQ cluster: the services' durable queues are "
                                     "quorum queues (they survive the loss of a minority of the nodes) and their "
                                     "RPC reply queues transient (declared again on another node)")
    database_url: str | None = Field(None, description="PostgreSQL URL; unset means one SQLite file per service")
    data_dir: Path = Field(REPO_ROOT / "var" / "data", description="Root of embedded databases and files")
    s3_endpoint: str | None = Field(None, description="host:port of an S3 server; unset means a local folder")
    s3_access_key: str = "minioadmin"
    s3_secret_key: str = Field("", repr=False)
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    metrics_port: int = Field(0, description="Port of /metrics and /healthz; 0 disables the endpoint")
    metrics_host: str = "127.0.0.1"
    installation: str = Field("", description="Name of the installation a process serves (shown by /healthz)")
    open_agencies: int = Field(64, description="SQLite: the most agencies' files a service keeps open at once")
    log_level: str = "INFO"
    timezone: str = "Asia/Ho_Chi_Minh"


@lru_cache
def get_settings() -> CommonSettings:
    return CommonSettings()
