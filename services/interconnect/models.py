"""Tables of the interconnect: the agency directory, the hubs' relay log, the edge's inbox/outbox.

Each process creates only the tables it uses (hub: directory + relay log; edge: its own), so the
components keep separate MetaData objects below.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import add_later_columns


class DirectoryBase(DeclarativeBase):
    metadata = MetaData()


class HubBase(DeclarativeBase):
    metadata = MetaData()


class EdgeBase(DeclarativeBase):
    metadata = MetaData()


class VdxpBase(DeclarativeBase):
    metadata = MetaData()


# --- agency directory (DirectoryBase) ------------------------------------------------------------
class DirectoryAgency(DirectoryBase):
    """One agency of the directory (services/interconnect/directory.py), versioned by validity and successor
    for the 2025 reorganisation. `name_key` is the name folded for diacritics-insensitive search."""

    __tablename__ = "directory_agency"

    organ_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    parent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    level: Mapped[int] = mapped_column(Integer)
    hub: Mapped[str] = mapped_column(String(32), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    successor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The installation that hosts it (the organ id naming that installation's broker identity and inbox); NULL:
    # the agency is an installation of its own, or not reached over this hub's AMQP at all.
    installation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The first `directory sync` that found it on the national axis; NULL: a record of this directory's own, which
    # the axis's silence does not end (services/interconnect/directory_sync.py).
    axis_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DirectoryChange(DirectoryBase):
    """One change a `directory sync` made: the directory's history beside its current rows."""

    __tablename__ = "directory_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    organ_id: Mapped[str] = mapped_column(String(64), index=True)
    change: Mapped[str] = mapped_column(String(16))        # added, renamed, moved, ended, reopened, merged
    old_value: Mapped[str | None] = mapped_column(String(300), nullable=True)
    new_value: Mapped[str | None] = mapped_column(String(300), nullable=True)


# --- hub relay log (HubBase) ----------------------------------------------------------------------
class RelayLogEntry(HubBase):
    """One event of one package at one hub, chained: row_hash = SHA-256(prev_hash + this row's fields).

    `seq` is contiguous from 1, so a removed row leaves a gap; relaylog.verify() recomputes the chain.
    """

    __tablename__ = "hub_relay_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hub: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))              # ISO 8601 UTC, hashed as written
    event: Mapped[str] = mapped_column(String(16))           # received|validated|routed|rejected|delivered
    message_id: Mapped[str] = mapped_column(String(128), index=True)
    document_id: Mapped[str] = mapped_column(String(256), default="")
    sender: Mapped[str] = mapped_column(String(64), default="")
    recipients: Mapped[str] = mapped_column(Text, default="")  # comma-separated organ ids
    sha256: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))



# --- agency edge: inbox, outbox, per-recipient status view (EdgeBase) -----------------------------
class EdgeOutbox(EdgeBase):
    """Every package the edge sent to its hub, keyed by the registry's message_id (deduplication)."""

    __tablename__ = "edge_outbox"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))              # edoc | status
    document_id: Mapped[str] = mapped_column(String(256), default="")
    recipients: Mapped[str] = mapped_column(Text, default="")  # comma-separated organ ids
    status_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    raw_sha256: Mapped[str] = mapped_column(String(64))        # the edXML as sent, in the blob store
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class EdgeInbox(EdgeBase):
    """Every package received from the hub, once per (DocumentId, sender, recipient, kind)."""

    __tablename__ = "edge_inbox"
    __table_args__ = (UniqueConstraint("document_id", "sender", "recipient", "kind", name="uq_edge_inbox_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(256))
    sender: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))              # edoc:<BussinessDocType> | status:<code>:<timestamp>
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    handed_over_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reply_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # our automatic 01/02


class EdgeRecipientStatus(EdgeBase):
    """The latest status each recipient reported about one of our documents (the sender's per-recipient view)."""

    __tablename__ = "edge_recipient_status"

    document_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64), primary_key=True)
    status_code: Mapped[str] = mapped_column(String(4))
    description: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[str] = mapped_column(Text, default="")     # codes in arrival order: "01,03,04"
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- the HTTP APIs of a hub: VDXP and LGSP (VdxpBase; vdxp_api.py, lgsp_api.py, vdxp_store.py) ----------
class VdxpSystem(VdxpBase):
    """A system that connects to a hub over HTTP: a vendor system on the VDXP SDK (id `vxp.saas.03`) or an LGSP
    client (id `H37.DN.001`). One table for both protocols, so that an agency is held by one system only.

    `secret`: for VDXP the HMAC key itself (the server recomputes the HMAC; the SDK never sends it); for LGSP,
    whose clients send their secret in X-SecretKey, only `sha256:<hex>` of it. Generated at provisioning and
    shown once to the operator either way."""

    __tablename__ = "vdxp_system"

    system_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    protocol: Mapped[str | None] = mapped_column(String(16), nullable=True)   # vdxp (NULL: from before) | lgsp


class LgspToken(VdxpBase):
    """An OAuth2 access token the hub's LGSP API issued to a system (lgsp_oauth.py): only its SHA-256 is kept."""

    __tablename__ = "lgsp_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(128), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VdxpAgency(VdxpBase):
    """An agency a system sends for and receives for (registerAgency, or granted by the operator)."""

    __tablename__ = "vdxp_agency"

    organ_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(128), index=True)
    parent: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    mail: Mapped[str] = mapped_column(String(200), default="")
    mobile: Mapped[str] = mapped_column(String(50), default="")
    fax: Mapped[str] = mapped_column(String(50), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    bound: Mapped[bool] = mapped_column(Boolean, default=False)   # its broker binding and directory entry exist
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VdxpReceived(VdxpBase):
    """A package kept for a system to fetch (getReceivedEdocList, getEdoc), once per (message, recipient)."""

    __tablename__ = "vdxp_received"
    __table_args__ = (UniqueConstraint("message_id", "recipient", name="uq_vdxp_received"),)

    doc_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(128), index=True)
    recipient: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(128))
    message_type: Mapped[str] = mapped_column(String(16))       # edoc | status
    document_id: Mapped[str] = mapped_column(String(256), default="")   # the edoc's, or the one a status is about
    status_code: Mapped[str] = mapped_column(String(4), default="")     # of a status package
    status: Mapped[str] = mapped_column(String(16), default="initial")  # initial | processing | done | fail
    status_desc: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VdxpSent(VdxpBase):
    """A package a system sent with sendEdoc; `doc_id` (the DocId answered) is also the relay's message id."""

    __tablename__ = "vdxp_sent"

    doc_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(128), index=True)
    sender: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[str] = mapped_column(Text, default="")   # comma-separated organ ids
    message_type: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[str] = mapped_column(String(256), default="")
    notation: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


add_later_columns(VdxpBase.metadata, {"vdxp_system": ("protocol",)})


# --- an agency's client edge on an HTTP axis (EdgeBase; lgsp_edge.py) --------------------------------------
class EdgeAxisSend(EdgeBase):
    """How sending one outbox row to the axis went: tries, the next one, and its end (sent, refused, duplicate).
    A row without an `outcome` is still to send; everything here survives a restart."""

    __tablename__ = "edge_axis_send"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)   # the edge_outbox row
    status_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # axis.status_key
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)   # sent | refused | duplicate
    code: Mapped[int | None] = mapped_column(Integer, nullable=True)         # the axis's last error code
    detail: Mapped[str] = mapped_column(Text, default="")
    axis_doc_id: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EdgeAxisAck(EdgeBase):
    """The acknowledgement (updateStatus done or fail) owed for one package fetched from the axis: sent once per
    (docId, status), retried with back-off until the axis has it."""

    __tablename__ = "edge_axis_ack"

    doc_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))                          # done | fail
    description: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
