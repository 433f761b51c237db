"""Tables of the signing service (its own metadata; no other service reads them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import clock
from services.common.agency_rules import make_rules_table


class Base(DeclarativeBase):
    pass


class KeyBinding(Base):
    """Which key signs for a holder: a leader (user id) or the agency seal (holder `agency:<organ id>`)."""

    __tablename__ = "signing_key_bindings"
    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))           # personal | seal
    key_ref: Mapped[dict] = mapped_column(JSON)             # keys.check_ref: pkcs12 file or pkcs11 labels
    display_name: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc(),
                                                 onupdate=lambda: clock.now_utc())


class EnrolledCertificate(Base):
    """The certificate an administrator enrolled for a holder after checking chain, key usage, validity and
    revocation (enrolment.py): the key that signs for the holder must carry exactly this certificate."""

    __tablename__ = "signing_enrolled_certificates"
    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))           # personal | seal
    der: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(String(300))
    serial: Mapped[str] = mapped_column(String(80))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trust_root: Mapped[str] = mapped_column(String(300), default="")
    enrolled_by: Mapped[str] = mapped_column(String(200), default="")
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc(),
                                                  onupdate=lambda: clock.now_utc())


class AppearanceImage(Base):
    """The blue signature image of a person, or the red seal image of the agency (holder `agency:<id>`)."""

    __tablename__ = "signing_images"
    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    png_sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc(),
                                                 onupdate=lambda: clock.now_utc())


class Operation(Base):
    """Result of a signing operation, by a hash of (operation, input, parameters): a redelivered request gets
    the same signed file back instead of a second signature."""

    __tablename__ = "signing_operations"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40))
    input_sha256: Mapped[str] = mapped_column(String(64), index=True)
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: clock.now_utc())


class ArchiveVersion(Base):
    """An issued PDF with a document time stamp (B-LTA) and its latest archive-stamped version: `congvan archive
    refresh` adds a time stamp before `timestamp_expires` and moves `current_sha256` on (services/signing/ltv.py)."""

    __tablename__ = "signing_archive"
    issued_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    current_sha256: Mapped[str] = mapped_column(String(64))
    timestamp_expires: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    refreshes: Mapped[int] = mapped_column(default=0)


agency_rules = make_rules_table(Base.metadata)  # the agency's rules signing applies (seal_position)
