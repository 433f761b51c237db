"""Settings of the storage service and of the blob stores (environment variables, see docs/storage.md)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from services.common.settings import CommonSettings

DEFAULT_FORMATS = "txt,rtf,doc,docx,odt,pdf,csv,xls,xlsx,ods,jpg,jpeg,png,gif,tif,tiff,bmp,webp"


class StorageSettings(CommonSettings):
    max_upload_mb: int = Field(50, description="Largest file accepted, in MB (1 MB = 1024 × 1024 bytes)")
    allowed_formats: str = Field(DEFAULT_FORMATS, description="Comma-separated extensions accepted on upload")
    archive_max_expanded_mb: int = Field(500, description="Largest total size an office ZIP container may expand to")
    archive_max_ratio: int = Field(200, description="Largest expansion ratio of an office ZIP container")
    archive_max_entries: int = Field(10_000, description="Most entries an office ZIP container may hold")
    s3_bucket_prefix: str = Field("congvan-", description="Bucket of an agency: <prefix><agency slug>")
    s3_object_lock: bool = Field(False, description="Create buckets with S3 object lock and lock retained files")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def allowed_extensions(self) -> frozenset[str]:
        return frozenset(e.strip().lower().lstrip(".") for e in self.allowed_formats.split(",") if e.strip())


def storage_settings(settings: CommonSettings | None = None) -> StorageSettings:
    """StorageSettings from a CommonSettings (keeps its values; storage keys come from the environment)."""
    if isinstance(settings, StorageSettings):
        return settings
    if settings is None:
        return get_storage_settings()
    return StorageSettings(**settings.model_dump())


@lru_cache
def get_storage_settings() -> StorageSettings:
    return StorageSettings()
