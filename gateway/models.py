"""The gateway's own tables: people's accounts, sessions, API tokens. Services own everything else."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.agency_rules import make_rules_table
from services.common.db import add_later_columns

if TYPE_CHECKING:
    from services.common.db import Database
    from services.common.settings import CommonSettings


class Base(DeclarativeBase):
    metadata = MetaData()


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    full_name: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[str] = mapped_column(String(100), default="")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    email: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)  # locked by the admin; never deleted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie value
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiTokenUse(Base):
    """When a token was last used (shown on the owner's account page). Its own table so that gateway databases made
    before it gain it from create_all, without altering api_tokens."""

    __tablename__ = "api_token_uses"

    id_hash: Mapped[str] = mapped_column(ForeignKey("api_tokens.id_hash"), primary_key=True)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DirectoryAccount(Base):
    """Marks an account as the directory's (LDAP): its password and roles live there, and are refreshed at each
    sign-in. Its own table so that gateway databases made before it gain it from create_all."""

    __tablename__ = "directory_accounts"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    dn: Mapped[str] = mapped_column(String(300))
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PasswordReset(Base):
    """A one-time link of "Quên mật khẩu" (gateway/password_reset.py): only the SHA-256 of its secret is kept, as for
    sessions and API tokens. A link ends when used, when it expires, or when a newer one is asked for, the password is
    set another way or the e-mail address changes (`revoked`, gateway/auth.py end_reset_links); the rows stay, the
    recent ones counting towards the limit of requests per account."""

    __tablename__ = "password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # masked in the audit chain ("token")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(64), default="")  # where it was asked from


class LoginEvent(Base):
    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(64), default="")


class Unit(Base):
    """A unit (phòng, ban, văn phòng) of an agency; its code is the suffix of its staff's account names."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("agency_id", "code", name="uq_units_agency_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Its part of a notation ("12/UBND-VX", NĐ 30 Phụ lục I) when not its code; routing keeps a copy (sync_units).
    abbreviation: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The unit of the same agency it sits in (a phòng of a Chi cục: Bình Định QĐ 376 Đ4.1 Bước 3); None: directly
    # under the agency. Routing keeps a copy (sync_units); the tree's rules are services/routing/domain.py's.
    parent_code: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AdminEvent(Base):
    """What an administrator changed (accounts are never deleted; their history stays readable)."""

    __tablename__ = "admin_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    admin_user_id: Mapped[str] = mapped_column(String(36))
    target_user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class DeletedAccount(Base):
    """An account deleted under the agency's rule for leavers (Đà Nẵng Đ13.5d; gateway/rules.py): it cannot sign in
    nor be unlocked; the row of `users` stays so that the history keeps the person's name."""

    __tablename__ = "deleted_accounts"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


agency_rules = make_rules_table(Base.metadata)  # the gateway's own rules, keyed by agency (services/common)
add_later_columns(Base.metadata, {"units": ("abbreviation", "parent_code")})  # gateway databases made before it


class RecipientGroup(Base):
    """A named list of recipients (nhóm nơi nhận) of one agency: organ ids of the agency directory, which the
    clerk adds at once on "Gửi văn bản" and "Ban hành" (gateway/recipient_groups.py). Kept here, beside the units,
    because the directory it names is the gateway's and only the gateway expands it: the registry and the
    interconnect receive the resulting organ ids, as from a hand-made choice."""

    __tablename__ = "recipient_groups"
    __table_args__ = (UniqueConstraint("agency_id", "name_key", name="uq_recipient_group_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))   # the name folded (case, marks, spaces): one per agency
    members: Mapped[list] = mapped_column(JSON, default=list)   # organ ids, in the order the admin added them
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HostedAgency(Base):
    """An agency this installation serves (docs/operations.md "Cơ quan trên nền tảng"): added and disabled by the
    province operator without restarting anything. `installation` names the agency process group (an entry of
    AGENCIES_FILE) whose services serve it; the agencies of AGENCIES_FILE are recorded here at start."""

    __tablename__ = "hosted_agencies"

    organ_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_name: Mapped[str] = mapped_column(String(300), default="")   # cơ quan chủ quản, printed on forms
    place: Mapped[str] = mapped_column(String(100), default="")
    abbreviation: Mapped[str] = mapped_column(String(32), default="")
    installation: Mapped[str] = mapped_column(String(64))
    hub: Mapped[str] = mapped_column(String(32), default="")
    admin_user_id: Mapped[str | None] = mapped_column(String(36))       # the admin account made at onboarding
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MaintenanceNotice(Base):
    """A maintenance window announced by the province operator (Tuyên Quang QĐ 51/2024 Đ19.6): every page shows it
    from publication until the window ends."""

    __tablename__ = "maintenance_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(String(1000))
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)


class PushSubscription(Base):
    """A browser of a person that asked for notifications (Web Push, RFC 8030): where to send and the keys to
    encrypt for it (RFC 8291). Removed when the person turns them off or the push service says it is gone."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- the audit chain of the gateway's tables (docs/operations.md "Audit chain") ---------------------------------

# Not chained: every login attempt, an attacker's included, writes a login event; chaining them would let anyone
# who can reach the login page grow the chain without bound. They stay readable in `login_events` itself.
NOT_AUDITED = frozenset({"login_events", "api_idempotency"})  # the latter: copies of answers
# Bookkeeping columns whose change alone makes no audit row: a session's last_seen (touched once a minute per
# active user), the failed-login counter and the temporary lock (written by every wrong password; the login
# event says why). A row that changes other columns too is still chained, without these.
IGNORED_COLUMNS = {"sessions": frozenset({"last_seen"}), "users": frozenset({"failed_logins", "locked_until"})}
# Writes outside a signed-in request (a login opening its session, the demo's seeding) name this actor.
SYSTEM_ACTOR = "system:gateway"


def open_database(settings: CommonSettings) -> Database:
    """The gateway's database (one for every agency it serves: `DATA_DIR/gateway/gateway.sqlite3` or the schema
    `gateway__gateway`), with every write chained in its `audit_log`, naming the signed-in user of the request.
    Password hashes, CSRF values and tokens are masked in the chain (services/common/audit.py `_SECRET_WORDS`)."""
    from services.common import audit
    from services.common.db import Database

    database = Database("gateway", "gateway", Base.metadata, settings)
    audit.install(database, exclude=NOT_AUDITED, ignore_columns=IGNORED_COLUMNS, default_actor=SYSTEM_ACTOR)
    return database
