"""Authentication: argon2 password hashes, server-side sessions, lockout, API tokens, CSRF tokens.

Sessions live in the gateway's database (only a SHA-256 of the cookie is stored), so logging out or locking an
account ends every session at once — a signed client-side cookie could not be revoked.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta
from types import EllipsisType
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, object_session

from gateway.accounts import (
    UNIT_CODE_RE,
    LockoutPolicy,
    check_account_name,
    check_password,
    check_roles,
    temporary_password,
)
from gateway.ldap_directory import DirectoryPerson, DirectoryUnavailable, LdapDirectory
from gateway.models import (
    AdminEvent,
    ApiToken,
    ApiTokenUse,
    DirectoryAccount,
    HostedAgency,
    LoginEvent,
    PasswordReset,
    Unit,
    User,
    WebSession,
)
from services.common import clock
from services.common.actor import Actor
from services.common.db import Database, get_or_add
from services.common.errors import CongVanError, Forbidden, NotFound, Unauthenticated, ValidationFailed
from services.routing.domain import UnitTree, check_unit_parent, unit_abbreviation

_hasher = PasswordHasher()
TOKEN_ID_LENGTH = 16  # hex digits of the token's SHA-256 shown as its public id
TOKEN_USE_GRANULARITY = timedelta(minutes=5)
# Verifying against this when the account does not exist keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# The password hash of a directory account: no password ever verifies against it (its password is the directory's).
DIRECTORY_HASH = "!directory"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes even for timezone=True columns; everything we store is UTC.
    if moment is not None and moment.tzinfo is None:
        from datetime import UTC

        return moment.replace(tzinfo=UTC)
    return moment


def actor_of(user: User, on_behalf_of: str | None = None) -> Actor:
    return Actor(user_id=user.id, username=user.username, agency_id=user.agency_id, roles=frozenset(user.roles),
                 full_name=user.full_name, unit=user.unit, on_behalf_of=on_behalf_of)


class Accounts:
    def __init__(self, db: Database, lockout: LockoutPolicy | None = None, idle: timedelta = timedelta(hours=2),
                 directory: LdapDirectory | None = None):
        self.db = db
        self.lockout = lockout or LockoutPolicy()
        self.idle = idle
        self.directory = directory

    # -- accounts ---------------------------------------------------------------------------------
    def create_user(self, *, username: str, full_name: str, agency_id: str, roles: list[str], password: str,
                    unit: str | None = None, position: str = "", email: str = "",
                    must_change_password: bool = True) -> User:
        if reason := check_account_name(username):
            raise ValidationFailed(reason, field="username", value=username)
        if reason := check_password(password, username):
            raise ValidationFailed(reason, field="password")
        with self.db.session() as s:
            if s.scalar(select(User).where(User.username == username)):
                raise ValidationFailed(f"Tài khoản '{username}' đã tồn tại; quản trị viên cần chọn tên khác.",
                                       field="username", value=username)
            user = User(id=str(uuid.uuid4()), username=username, full_name=full_name, agency_id=agency_id,
                        unit=unit, position=position, roles=list(roles), email=email,
                        password_hash=hash_password(password), must_change_password=must_change_password,
                        failed_logins=0, created_at=clock.now_utc())
            s.add(user)
        return user

    def get(self, user_id: str) -> User | None:
        with self.db.session() as s:
            return s.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        with self.db.session() as s:
            return s.scalar(select(User).where(User.username == username))

    def list_users(self, agency_id: str) -> list[User]:
        with self.db.session() as s:
            return list(s.scalars(select(User).where(User.agency_id == agency_id).order_by(User.username)))

    def full_names(self, agency_id: str, usernames: set[str]) -> dict[str, str]:
        """The full names of these accounts of the agency (a page naming the few people of its history reads those,
        not the agency's hundreds of accounts)."""
        if not usernames:
            return {}
        with self.db.session() as s:
            # .all(): a Result has keys() (its columns), so dict() would read it as a mapping and index it
            return dict(s.execute(select(User.username, User.full_name).where(
                User.agency_id == agency_id, User.username.in_(sorted(usernames)))).all())

    def find_users(self, text: str, limit: int = 50) -> list[User]:
        """Accounts of every agency whose name or account name contains `text` (the province operator's search)."""
        pattern = f"%{text.strip().lower()}%"
        with self.db.session() as s:
            return list(s.scalars(select(User).where(or_(User.username.like(pattern),
                                                          func.lower(User.full_name).like(pattern)))
                                  .order_by(User.agency_id, User.username).limit(limit)))

    def set_disabled(self, user_id: str, disabled: bool) -> None:
        """Staff who leave are locked, never deleted, so their history stays whole."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None:
                raise ValidationFailed("Không tìm thấy tài khoản.", user_id=user_id)
            user.disabled = disabled
            if disabled:
                s.execute(update(WebSession).where(WebSession.user_id == user_id).values(revoked=True))

    # -- administration (scoped to the administrator's agency) -----------------------------------------------
    def user_in_agency(self, agency_id: str, user_id: str) -> User:
        """Another agency's account is answered exactly like a missing one (no hint that it exists)."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None or user.agency_id != agency_id:
                raise NotFound("Không tìm thấy tài khoản.", user_id=user_id)
            return user

    def usernames(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(User.username)))

    def update_user(self, agency_id: str, user_id: str, *, full_name: str, unit: str | None, position: str,
                    roles: list[str], email: str = "") -> User:
        if reason := check_roles(roles):
            raise ValidationFailed(reason, field="roles", value=roles)
        if not full_name.strip():
            raise ValidationFailed("Họ tên không được để trống.", field="full_name")
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None or user.agency_id != agency_id:
                raise NotFound("Không tìm thấy tài khoản.", user_id=user_id)
            if set(roles) != set(user.roles or []):
                # New roles take effect at once: sessions opened under the old ones end.
                s.execute(update(WebSession).where(WebSession.user_id == user_id).values(revoked=True))
            user.full_name, user.unit, user.position = full_name.strip()[:100], unit, position.strip()[:100]
            if email.strip()[:100] != (user.email or ""):
                end_reset_links(s, user_id)  # a link mailed to the old address must not outlive it
            user.roles, user.email = list(roles), email.strip()[:100]
            return user

    def reset_password(self, agency_id: str, user_id: str) -> str:
        """A temporary password, to be changed at the next login; open sessions and API tokens end and any lockout
        is lifted."""
        password = temporary_password()
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None or user.agency_id != agency_id:
                raise NotFound("Không tìm thấy tài khoản.", user_id=user_id)
            if s.get(DirectoryAccount, user_id) is not None:
                raise ValidationFailed("Mật khẩu của tài khoản thư mục (LDAP) do hệ thống thư mục quản lý; đặt lại "
                                       "mật khẩu tại đó.", field="password", user_id=user_id)
            user.password_hash = hash_password(password)
            user.must_change_password = True
            user.failed_logins = 0
            user.locked_until = None
            end_access(s, user_id)
            end_reset_links(s, user_id)
        return password

    def record_admin_event(self, admin: User, target_user_id: str | None, action: str, *,
                           agency_id: str | None = None, **details) -> None:
        """`agency_id`: the agency whose history the event belongs to, when not the admin's own (the province
        operator acting on a person of another agency: that agency's administrators see it on the person's page)."""
        with self.db.session() as s:
            s.add(AdminEvent(agency_id=agency_id or admin.agency_id, at=clock.now_utc(), admin_user_id=admin.id,
                             target_user_id=target_user_id, action=action, details=details))

    def admin_events(self, agency_id: str, target_user_id: str | None = None, limit: int = 50,
                     action: str | None = None) -> list[AdminEvent]:
        with self.db.session() as s:
            query = select(AdminEvent).where(AdminEvent.agency_id == agency_id)
            if target_user_id:
                query = query.where(AdminEvent.target_user_id == target_user_id)
            if action:
                query = query.where(AdminEvent.action == action)
            return list(s.scalars(query.order_by(AdminEvent.id.desc()).limit(limit)))

    def login_events(self, username: str, limit: int = 20) -> list[LoginEvent]:
        with self.db.session() as s:
            return list(s.scalars(select(LoginEvent).where(LoginEvent.username == username)
                                  .order_by(LoginEvent.id.desc()).limit(limit)))

    # -- units ------------------------------------------------------------------------------------------------
    def list_units(self, agency_id: str) -> list[Unit]:
        with self.db.session() as s:
            return list(s.scalars(select(Unit).where(Unit.agency_id == agency_id).order_by(Unit.code)))

    def save_unit(self, agency_id: str, code: str, name: str, abbreviation: str | None = None,
                  parent_code: str | EllipsisType | None = ...) -> tuple[Unit, dict[str, Any]]:
        """Create a unit, or rename it when the code exists (codes are part of account names: never changed);
        `abbreviation`, its part of notations when not its code (checked as routing checks it); `parent_code`, the
        unit of the same agency it sits in (None: directly under the agency; left out: unchanged), refused when
        it would make a loop or a tree deeper than MAX_UNIT_DEPTH. Returns the unit and what changed."""
        code = code.strip().lower()
        if not UNIT_CODE_RE.fullmatch(code):
            raise ValidationFailed("Mã đơn vị chỉ gồm chữ thường không dấu và chữ số, tối đa 32 ký tự (ví dụ vptq).",
                                   field="code", value=code)
        if not name.strip():
            raise ValidationFailed("Tên đơn vị không được để trống.", field="name")
        with self.db.session() as s:
            units = list(s.scalars(select(Unit).where(Unit.agency_id == agency_id)))
            unit = next((u for u in units if u.code == code), None)
            before = {"name": unit.name, "abbreviation": unit.abbreviation, "parent_code": unit.parent_code} \
                if unit else {}
            if unit is None:
                unit = Unit(agency_id=agency_id, code=code, name=name.strip()[:200], active=True)
                s.add(unit)
            else:
                unit.name = name.strip()[:200]
            unit.abbreviation = unit_abbreviation(abbreviation)
            if parent_code is not ...:
                parent = (parent_code or "").strip().lower() or None
                tree = UnitTree.of((u.code, u.parent_code) for u in units)  # this agency's units only
                check_unit_parent(code, parent, tree)
                if parent != unit.parent_code:  # where a unit already sits under a retired one, it may stay
                    refuse_retired(next((u for u in units if u.code == parent), None), "parent_code",
                                   "Đơn vị cấp trên")
                unit.parent_code = parent
            s.flush()
            after = {"name": unit.name, "abbreviation": unit.abbreviation, "parent_code": unit.parent_code}
            return unit, {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}

    def unit_in_agency(self, agency_id: str, code: str) -> Unit:
        """A declared unit of the agency; another agency's, like a missing one, is "not found"."""
        with self.db.session() as s:
            unit = s.scalar(select(Unit).where(Unit.agency_id == agency_id, Unit.code == code.strip().lower()))
            if unit is None:
                raise NotFound("Không tìm thấy đơn vị.", code=code)
            return unit

    def set_unit_active(self, agency_id: str, code: str, active: bool) -> bool:
        """Mark the unit working or not (people.set_unit_active checks first); whether it changed."""
        with self.db.session() as s:
            unit = s.scalar(select(Unit).where(Unit.agency_id == agency_id, Unit.code == code))
            if unit is None:
                raise NotFound("Không tìm thấy đơn vị.", code=code)
            changed, unit.active = unit.active != active, active
            return changed

    # -- login ------------------------------------------------------------------------------------
    def authenticate(self, username: str, password: str, address: str = "") -> User:
        # The outcome (event row, failure counter, lock) is committed before any error is raised:
        # raising inside the unit of work would roll the record of the failed attempt back.
        with self.db.session() as s:
            user, error = self._check_login(s, username.strip().lower(), password, clock.now_utc())
            self._event(s, username, "ok" if error is None else error.details["reason"], address)
        if error is not None:
            raise error
        return user

    def is_directory_account(self, user_id: str) -> bool:
        with self.db.session() as s:
            return s.get(DirectoryAccount, user_id) is not None

    def _check_login(self, s, username: str, password: str, now: datetime):
        user = s.scalar(select(User).where(User.username == username))
        # A local account keeps its local password even where a directory is configured; a name unknown here, or
        # an account that came from the directory, is the directory's to check.
        if self.directory is not None and (user is None or s.get(DirectoryAccount, user.id) is not None):
            return self._check_directory_login(s, user, username, password, now)
        if user is None:
            with contextlib.suppress(VerificationError):
                _hasher.verify(_DUMMY_HASH, password)
            return None, _refusal(Unauthenticated, "unknown_user", "Tên đăng nhập hoặc mật khẩu không đúng.")
        if error := self._refused_here(user, now):
            return None, error
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None, self._failed(user, now)
        user.failed_logins = 0
        user.locked_until = None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user, None

    def _refused_here(self, user: User, now: datetime) -> CongVanError | None:
        """Locked by the administrator, for now after too many wrong passwords, or the agency was disabled."""
        if user.disabled:
            return _refusal(Forbidden, "disabled", "Tài khoản đã bị khóa. Liên hệ quản trị viên.")
        if agency_disabled(object_session(user), user.agency_id):
            return _refusal(Forbidden, "agency_disabled",
                            "Cơ quan của bạn đã ngừng sử dụng hệ thống trên nền tảng của tỉnh. Liên hệ Sở Thông tin "
                            "và Truyền thông.")
        locked_until = _aware(user.locked_until)
        if locked_until and locked_until > now:
            minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
            return _refusal(Forbidden, "locked_out",
                            f"Tài khoản tạm khóa do đăng nhập sai nhiều lần; thử lại sau {minutes} phút.")
        return None

    def _failed(self, user: User, now: datetime) -> CongVanError:
        """A wrong password: counted, and the account locked for a while at the policy's threshold."""
        user.failed_logins += 1
        user.locked_until = self.lockout.after_failure(user.failed_logins, now)
        if user.locked_until:
            user.failed_logins = 0
            minutes = int(self.lockout.lock_for.total_seconds() // 60)
            return _refusal(Forbidden, "locked_now",
                            f"Đăng nhập sai quá số lần cho phép; tài khoản tạm khóa {minutes} phút.")
        return _refusal(Unauthenticated, "bad_password", "Tên đăng nhập hoặc mật khẩu không đúng.")

    def _check_directory_login(self, s, user: User | None, username: str, password: str, now: datetime):
        """The directory checks the password and gives the roles; the local lock and lockout still apply first, and
        a wrong password counts towards the local lockout of an account that has signed in here before."""
        if user is not None and (error := self._refused_here(user, now)):
            return None, error
        try:
            outcome = self.directory.authenticate(username, password)
        except DirectoryUnavailable as exc:
            return None, _refusal(Unauthenticated, "directory_unavailable", exc.message_vi)
        if outcome in ("bad_password", "unknown_user"):
            if user is not None:
                return None, self._failed(user, now)
            return None, _refusal(Unauthenticated, outcome, "Tên đăng nhập hoặc mật khẩu không đúng.")
        if outcome == "directory_locked":
            return None, _refusal(Forbidden, outcome, "Tài khoản đã bị khóa trên hệ thống thư mục. Liên hệ quản "
                                                      "trị viên.")
        if outcome == "no_role":
            return None, _refusal(Forbidden, outcome, "Tài khoản chưa thuộc nhóm nào được phân vai trò trong hệ "
                                                      "thống. Liên hệ quản trị viên.")
        return self._directory_user(s, user, outcome, now), None

    def _directory_user(self, s, user: User | None, person: DirectoryPerson, now: datetime) -> User:
        """The local row of a directory account, created at the first sign-in and refreshed at every one."""
        if user is None:
            user = User(id=str(uuid.uuid4()), username=person.username, agency_id=self.directory.agency_id,
                        full_name=person.full_name, roles=list(person.roles), email=person.email, unit=person.unit,
                        password_hash=DIRECTORY_HASH, must_change_password=False, created_at=now, position="",
                        failed_logins=0)
            s.add(user)
            s.flush()  # the account row first: the link refers to it
            s.add(DirectoryAccount(user_id=user.id, dn=person.dn[:300], synced_at=now))
        else:
            link = s.get(DirectoryAccount, user.id)
            link.dn, link.synced_at = person.dn[:300], now
            if set(user.roles or []) != set(person.roles):
                # Moved between groups in the directory: sessions opened under the old roles end.
                s.execute(update(WebSession).where(WebSession.user_id == user.id).values(revoked=True))
        user.full_name, user.email, user.roles = person.full_name, person.email, list(person.roles)
        user.unit = person.unit if person.unit is not None else user.unit
        user.failed_logins, user.locked_until = 0, None
        s.flush()
        return user

    @staticmethod
    def _event(s, username: str, outcome: str, address: str) -> None:
        s.add(LoginEvent(username=username[:64], at=clock.now_utc(), outcome=outcome, address=address[:64]))

    def change_password(self, user_id: str, old: str, new: str) -> None:
        with self.db.session() as s:
            user = s.get(User, user_id)
            if s.get(DirectoryAccount, user_id) is not None:
                raise ValidationFailed("Mật khẩu của tài khoản thư mục (LDAP) được đổi trên hệ thống thư mục (thư "
                                       "điện tử công vụ), không đổi tại đây.", field="old_password")
            try:
                _hasher.verify(user.password_hash, old)
            except (VerificationError, InvalidHashError):
                raise ValidationFailed("Mật khẩu hiện tại không đúng.", field="old_password") from None
            set_own_password(user, new, old)
            end_reset_links(s, user_id)

    # -- sessions ---------------------------------------------------------------------------------
    def open_session(self, user: User) -> tuple[str, str]:
        """Returns (cookie value, csrf token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = clock.now_utc()
        with self.db.session() as s:
            s.add(WebSession(id_hash=_digest(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen=now))
        return token, csrf

    def session_user(self, token: str | None) -> tuple[User, WebSession] | None:
        if not token:
            return None
        now = clock.now_utc()
        with self.db.session() as s:
            found = s.execute(_signed_in(WebSession, WebSession.user_id)
                              .where(WebSession.id_hash == _digest(token))).first()
            if found is None:
                return None
            sess, user, disabled = found
            if sess.revoked or now - _aware(sess.last_seen) > self.idle or user.disabled or disabled:
                return None
            if now - _aware(sess.last_seen) > timedelta(minutes=1):  # fewer writes per page view
                sess.last_seen = now
            return user, sess

    def close_session(self, token: str | None) -> None:
        if token:
            with self.db.session() as s:
                s.execute(update(WebSession).where(WebSession.id_hash == _digest(token)).values(revoked=True))

    # -- API tokens -------------------------------------------------------------------------------
    def issue_api_token(self, user_id: str, label: str) -> str:
        token = "cv_" + secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.add(ApiToken(id_hash=_digest(token), user_id=user_id, label=label, created_at=clock.now_utc()))
        return token

    def token_user(self, token: str) -> User | None:
        with self.db.session() as s:
            found = s.execute(_signed_in(ApiToken, ApiToken.user_id).add_columns(ApiTokenUse)
                              .outerjoin(ApiTokenUse, ApiTokenUse.id_hash == ApiToken.id_hash)
                              .where(ApiToken.id_hash == _digest(token))).first()
            if found is None:
                return None
            row, user, disabled, use = found
            if row.revoked or user.disabled or disabled:
                return None
            _note_use(s, row.id_hash, use)
            return user

    def list_api_tokens(self, user_id: str) -> list[dict]:
        """The user's own tokens, newest first: public id, label, created, last used, revoked — never the secret
        (only its SHA-256 is stored; the public id is the first 16 hex digits of that digest)."""
        with self.db.session() as s:
            rows = s.execute(select(ApiToken, ApiTokenUse.last_used_at)
                             .outerjoin(ApiTokenUse, ApiTokenUse.id_hash == ApiToken.id_hash)
                             .where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())).all()
            return [{"id": t.id_hash[:TOKEN_ID_LENGTH], "label": t.label, "created_at": _aware(t.created_at),
                     "last_used_at": _aware(used), "revoked": bool(t.revoked)} for t, used in rows]

    def revoke_api_token(self, user_id: str, token_id: str) -> dict:
        """Revoke one of this user's tokens (idempotent); from then on it gets 401 on /api/v1, on every worker at
        once (`token_user` reads the row at each call). Only by the pair (user, token id): the token id alone never
        reaches another person's token."""
        if not re.fullmatch(rf"[0-9a-f]{{{TOKEN_ID_LENGTH}}}", token_id or ""):
            raise NotFound("Không tìm thấy mã truy cập.", token_id=str(token_id)[:40])
        with self.db.session() as s:
            row = s.execute(select(ApiToken).where(ApiToken.user_id == user_id,
                                                   ApiToken.id_hash.startswith(token_id))).scalars().first()
            if row is None:  # another person's token is "not found" too: ids reveal nothing
                raise NotFound("Không tìm thấy mã truy cập.", token_id=token_id)
            changed = not row.revoked
            row.revoked = True
            # `changed`: False when it was revoked already (the answers leave it out; the admin event needs it)
            return {"id": token_id, "label": row.label, "revoked": True, "changed": changed}


def refuse_retired(unit: Unit | None, field: str, what: str = "Đơn vị") -> None:
    """A retired unit (ngừng hoạt động) keeps its name in history but is chosen for no new work: not as an internal
    recipient, a person's unit, nor a parent of another unit."""
    if unit is not None and not unit.active:
        raise ValidationFailed(f"{what} {unit.name} (mã {unit.code}) đã ngừng hoạt động; chọn đơn vị khác.",
                               code="unit_retired", field=field, value=unit.code)


def set_own_password(user: User, new: str, old: str | None = None) -> None:
    """The one place where a person's own new password is checked and set: on "Đổi mật khẩu" (`old`, the password
    they just typed) and on "Quên mật khẩu" (old None: the forgotten one is compared through its stored hash)."""
    if new == old or (old is None and _verifies(user.password_hash, new)):
        raise ValidationFailed("Mật khẩu mới phải khác mật khẩu cũ.", field="new_password")
    if reason := check_password(new, user.username):
        raise ValidationFailed(reason, field="new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def end_access(s, user_id: str) -> int:
    """A password reset (by the administrator, or by a "Quên mật khẩu" link): whoever held the account before has
    no way in left. Every open session ends (the next page asks to sign in) and every API token is revoked (a phone
    app or a portal signs in again), as a lost or stolen password may have made them. Returns the tokens revoked."""
    s.execute(update(WebSession).where(WebSession.user_id == user_id).values(revoked=True))
    return s.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
                     .values(revoked=True)).rowcount


def end_reset_links(s, user_id: str) -> None:
    """The person's unused "Quên mật khẩu" links end (gateway/password_reset.py): their password was set another
    way, or their e-mail address changed, since the links were mailed."""
    s.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None),
                                          PasswordReset.revoked.is_(False)).values(revoked=True))


def _signed_in(entity: type, user_id: Any) -> Select:
    """A session's or token's row with its person and whether the person's agency is disabled, in one statement: it
    runs on every page view and every API call."""
    return select(entity, User, func.coalesce(HostedAgency.disabled, False)) \
        .join(User, User.id == user_id).outerjoin(HostedAgency, HostedAgency.organ_id == User.agency_id)


def _note_use(s: Session, id_hash: str, use: ApiTokenUse | None) -> None:
    """Last use of a token, at most one write per token every few minutes (a busy client calls many times)."""
    now = clock.now_utc()
    if use is None:
        # A token's first calls may come at once, on several workers: the one that loses the race keeps the other's
        # row instead of failing the call on the key.
        get_or_add(s, ApiTokenUse, id_hash, lambda: ApiTokenUse(id_hash=id_hash, last_used_at=now))
    elif now - _aware(use.last_used_at) > TOKEN_USE_GRANULARITY:
        use.last_used_at = now


def agency_disabled(s, agency_id: str) -> bool:
    """The province operator disabled the person's agency (gateway/platform.py): nobody of it signs in."""
    hosted = s.get(HostedAgency, agency_id)
    return hosted is not None and bool(hosted.disabled)


def _refusal(kind: type[CongVanError], reason: str, message_vi: str) -> CongVanError:
    """A refused login: the error to raise, with the reason recorded in the login events."""
    return kind(message_vi, reason=reason)


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given)
