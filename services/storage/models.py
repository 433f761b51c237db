"""Tables of the storage service: file records and their versions (the bytes live in the blob store).

A file (`StoredFile`) belongs to an owner elsewhere (`owner_ref`, e.g. "document:42", "draft:7",
"package:<message id>") and has one or more versions; each version names a blob by SHA-256. Versions are
append-only: a new signature or a corrected scan is a new version, the old bytes stay.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common import clock


class Base(DeclarativeBase):
    metadata = MetaData()


class StoredFile(Base):
    __tablename__ = "files"
    # Recording the same content for the same owner twice is the same file (idempotent at-least-once calls).
    __table_args__ = (UniqueConstraint("owner_ref", "origin_sha256", name="uq_files_owner_origin"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_ref: Mapped[str] = mapped_column(String(200), index=True)
    display_name: Mapped[str] = mapped_column(String(255))     # as the user named it, Vietnamese kept
    stored_name: Mapped[str] = mapped_column(String(50))       # ASCII letters/digits, ≤ 50 (002 Đ7)
    kind: Mapped[str] = mapped_column(String(30))
    origin_sha256: Mapped[str] = mapped_column(String(64))     # content of version 1
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    retention_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # 9999-12-31 = permanent
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(120), nullable=True)

    versions: Mapped[list[FileVersion]] = relationship(back_populates="file", order_by="FileVersion.version",
                                                       lazy="selectin")


class FileVersion(Base):
    __tablename__ = "file_versions"
    __table_args__ = (UniqueConstraint("file_id", "version", name="uq_versions_file_version"),
                      UniqueConstraint("file_id", "sha256", name="uq_versions_file_sha"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(150))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())

    file: Mapped[StoredFile] = relationship(back_populates="versions")
