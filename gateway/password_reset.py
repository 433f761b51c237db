"""Quên mật khẩu: a person who forgot their password sets a new one through a one-time link sent to their e-mail.

The regulation asks that accounts stay secret and that each person keeps their own safe: "Các thông tin tài khoản
đăng nhập, mật khẩu và các thông tin trao đổi hợp pháp của các cơ quan, đơn vị, cá nhân thông qua Hệ thống QLVB và
ĐH được đảm bảo bí mật theo quy định của pháp luật." (Tuyên Quang QĐ 51/2024/QĐ-UBND Đ4.2) and "Cá nhân thực hiện
các biện pháp đảm bảo an toàn thông tin cho tài khoản do mình quản lý" (Đ17.2). Hence:

- the answer to a request is the same whether the account exists or not (nobody learns which accounts exist), and a
  limited request is answered the same too (only the log says so);
- only the SHA-256 of the link's secret is stored (as for sessions and API tokens, gateway/auth.py); a link expires
  after 30 minutes, works once, and a newer request ends the older links, as does a password set another way (the
  administrator's reset, "Đổi mật khẩu") or a new e-mail address;
- a link is sent only to an account that may sign in here with a password kept here: not locked, not deleted, its
  agency not disabled (gateway/platform.py), not a directory account, whose password is the directory's (Đà Nẵng
  QĐ 8849/QĐ-UBND Đ3.1: the e-government mail password; gateway/ldap_directory.py), and with an e-mail address.

The gateway sends these e-mails itself, with the project's `Mailer` (services/common/mail.py) and the same SMTP_*
variables as routing's notifications, rather than through routing's notification path: routing keeps each
notification's text in its tables until it is mailed, and the link must never be stored in clear anywhere;
nor is a person who is signed out an actor routing could check. A request is handled, and its mail sent, after the
answer (a background task), so neither the account nor an SMTP server that is slow or away changes the answer or its
time.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from gateway.accounts import check_account_name
from gateway.auth import (
    DIRECTORY_HASH,
    actor_of,
    agency_disabled,
    end_access,
    end_reset_links,
    set_own_password,
)
from gateway.models import AdminEvent, DeletedAccount, DirectoryAccount, PasswordReset, User
from services.common import audit, clock
from services.common.db import Database
from services.common.errors import CongVanError
from services.common.mail import Mailer

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=30)
REQUEST_WINDOW = timedelta(minutes=15)
REQUESTS_PER_WINDOW = 3
RESET_PAGE = "/dat-lai-mat-khau"
LINK_PARAM = "ma"  # the query parameter of the link that carries its secret
NEUTRAL_VI = ("Nếu tài khoản có địa chỉ thư điện tử, hướng dẫn đặt lại mật khẩu đã được gửi tới địa chỉ đó; liên kết "
              "trong thư dùng được một lần, trong 30 phút. Nếu không nhận được thư sau vài phút, hãy liên hệ quản trị "
              "viên của cơ quan để được đặt lại mật khẩu.")


class HideLinkSecret(logging.Filter):
    """On uvicorn's access log (gateway/__main__.py): the line of a link's visit shows `ma=***`, not the secret that
    would let whoever reads the log set the person's password for the next 30 minutes."""

    _SECRET = re.compile(rf"({LINK_PARAM}=)[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and RESET_PAGE in a for a in record.args):
            record.args = tuple(self._SECRET.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


class ResetLinkInvalid(CongVanError):
    """The link of a reset e-mail is unknown, used, expired or replaced by a newer one."""

    code = "reset_link_invalid"
    http_status = 400


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _used() -> ResetLinkInvalid:
    return ResetLinkInvalid("Liên kết đặt lại mật khẩu này đã được dùng. Nếu cần, hãy yêu cầu một liên kết mới.",
                            reason="used")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _vn(moment: datetime) -> str:
    return clock.to_vn(moment).strftime("%H:%M ngày %d/%m/%Y")


class PasswordResets:
    def __init__(self, db: Database, mailer: Mailer | None, public_url: str) -> None:
        self.db = db
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, db: Database, settings) -> PasswordResets:
        mailer = Mailer(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from) \
            if settings.smtp_host else None
        return cls(db, mailer, settings.public_url)

    # -- asking for a link ---------------------------------------------------------------------------------------
    def ask(self, username: str, address: str = "") -> None:
        """A request, handled after the answer (a background task): how long the answer takes says nothing of the
        account (an eligible one costs a few writes more, measured about 3.5 ms of CPU) nor of the SMTP server."""
        for mail in self.request(username, address):
            self.deliver(mail)

    def request(self, username: str, address: str = "") -> list[Mail]:
        """The e-mail to send for this request: one with a new link, or none. The caller answers NEUTRAL_VI either
        way; why nothing is sent goes to the log only."""
        name = username.strip().lower()[:64]
        now = clock.now_utc()
        if check_account_name(name):  # no local account has such a name (nor a NUL, which PostgreSQL refuses)
            log.info("password reset for %r from %s: nothing sent (not an account name)", name, address)
            return []
        with self.db.session() as s:
            # The account's row locked until the commit: requests at once (workers side by side on PostgreSQL)
            # count and revoke one after the other, so the limit holds and only the newest link stays live.
            user = s.scalar(select(User).where(User.username == name).with_for_update()
                            .execution_options(populate_existing=True))
            if reason := self._not_for_reset(s, user):
                log.info("password reset for %r from %s: nothing sent (%s)", name, address, reason)
                return []
            if self.mailer is None or not self.public_url:
                log.warning("password reset for %r from %s: nothing sent, SMTP_HOST or PUBLIC_URL is not set; the "
                            "administrator resets the password", name, address)
                return []
            recent = s.scalar(select(func.count()).select_from(PasswordReset).where(
                PasswordReset.user_id == user.id, PasswordReset.created_at > now - REQUEST_WINDOW))
            if recent >= REQUESTS_PER_WINDOW:
                log.warning("password reset for %r from %s: refused, %d requests in the last %d minutes", name,
                            address, recent, REQUEST_WINDOW.total_seconds() // 60)
                return []
            # A newer request ends the links sent before it.
            end_reset_links(s, user.id)
            token = secrets.token_urlsafe(32)
            expires = now + LINK_LIFETIME
            s.add(PasswordReset(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=expires,
                                revoked=False, address=address[:64]))
            log.info("password reset for %r from %s: link made (e-mailed after the answer), valid until %s", name,
                     address, expires.isoformat())
            return [self._link_mail(user, token, now, expires)]

    @staticmethod
    def _not_for_reset(s, user: User | None) -> str | None:
        """Why this account gets no link (for the log), or None."""
        if user is None:
            return "unknown account"
        if user.disabled or s.get(DeletedAccount, user.id) is not None:
            return "account locked"
        if agency_disabled(s, user.agency_id):
            return "agency disabled"
        if user.password_hash == DIRECTORY_HASH or s.get(DirectoryAccount, user.id) is not None:
            return "directory (LDAP) account"
        if not (user.email or "").strip():
            return "no e-mail address"
        return None

    def _link_mail(self, user: User, token: str, now: datetime, expires: datetime) -> Mail:
        link = f"{self.public_url}{RESET_PAGE}?{LINK_PARAM}={token}"
        body = (f"Kính gửi {user.full_name},\n\n"
                f"Hệ thống Công Văn nhận được yêu cầu đặt lại mật khẩu của tài khoản {user.username} lúc {_vn(now)} "
                "(giờ Việt Nam).\n\n"
                f"Để đặt mật khẩu mới, hãy mở liên kết dưới đây. Liên kết chỉ dùng được một lần và có hiệu lực đến "
                f"{_vn(expires)} (giờ Việt Nam):\n\n{link}\n\n"
                "Nếu bạn không yêu cầu, hãy bỏ qua thư này: mật khẩu hiện tại vẫn giữ nguyên. Không chuyển tiếp thư "
                "này cho người khác.\n\nHệ thống Công Văn\n")
        return Mail(user.email.strip(), "Đặt lại mật khẩu tài khoản Công Văn", body)

    # -- using a link --------------------------------------------------------------------------------------------
    def check(self, token: str) -> str:
        """The account name a valid link is for (shown on the form), or ResetLinkInvalid."""
        with self.db.session() as s:
            return self._valid(s, token, clock.now_utc()).username

    def confirm(self, token: str, new_password: str, address: str = "") -> Mail:
        """Set the new password (the rules of "Đổi mật khẩu"), use the link up, end every session of the account,
        lift a temporary lockout, record it as the administrator's reset is recorded; returns the e-mail saying the
        password was changed. A refused password leaves the link usable."""
        now = clock.now_utc()
        with self.db.session() as s:
            user = self._valid(s, token, now)
            # Used up by a conditional write: of two submissions of one link at once, one only finds it unused.
            taken = s.execute(update(PasswordReset).where(
                PasswordReset.token_hash == _digest(token), PasswordReset.used_at.is_(None),
                PasswordReset.revoked.is_(False)).values(used_at=now))
            if taken.rowcount != 1:
                raise _used()
            audit.set_request_actor(actor_of(user))  # the audit chain names the person the link proved
            set_own_password(user, new_password)
            user.failed_logins, user.locked_until = 0, None
            end_access(s, user.id)
            s.add(AdminEvent(agency_id=user.agency_id, at=now, admin_user_id=user.id, target_user_id=user.id,
                             action="reset_password", details={"self_service": True, "address": address[:64]}))
            log.info("password of %r reset through its e-mail link from %s", user.username, address)
            return Mail(user.email.strip(), "Mật khẩu tài khoản Công Văn đã được đổi",
                        f"Kính gửi {user.full_name},\n\n"
                        f"Mật khẩu của tài khoản {user.username} đã được đổi lúc {_vn(now)} (giờ Việt Nam) bằng chức "
                        "năng Quên mật khẩu. Mọi phiên đăng nhập và mã truy cập API trước đó đã kết thúc.\n\n"
                        "Nếu không phải bạn đổi, hãy liên hệ ngay quản trị viên của cơ quan.\n\nHệ thống Công Văn\n")

    def _valid(self, s, token: str, now: datetime) -> User:
        row = s.get(PasswordReset, _digest(token)) if token else None
        if row is None:
            raise ResetLinkInvalid("Liên kết đặt lại mật khẩu không hợp lệ. Hãy mở đúng liên kết trong thư, hoặc yêu "
                                   "cầu một liên kết mới.", reason="unknown")
        if row.used_at is not None:
            raise _used()
        if row.revoked:
            # a newer link was asked for, or the password or the address was changed another way (auth.py)
            raise ResetLinkInvalid("Liên kết này không còn hiệu lực: đã có liên kết mới hơn, hoặc mật khẩu đã được đổi "
                                   "hay địa chỉ thư điện tử đã thay đổi sau khi thư được gửi. Hãy dùng thư gửi sau "
                                   "cùng, hoặc yêu cầu lại.", reason="replaced")
        if _aware(row.expires_at) <= now:
            raise ResetLinkInvalid("Liên kết đặt lại mật khẩu đã hết hạn (sau 30 phút). Hãy yêu cầu một liên kết "
                                   "mới.", reason="expired")
        user = s.get(User, row.user_id)
        if self._not_for_reset(s, user):  # locked, or its agency disabled, since the e-mail was sent
            raise ResetLinkInvalid("Tài khoản không còn được tự đặt lại mật khẩu. Liên hệ quản trị viên.",
                                   reason="account")
        return user

    # -- sending -------------------------------------------------------------------------------------------------
    def deliver(self, mail: Mail) -> None:
        """Send one e-mail; a failure is logged (the person asks again or asks the administrator)."""
        if self.mailer is None:
            return
        try:
            self.mailer.send(mail.to, mail.subject, mail.body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("password reset e-mail %r to %s failed: %s", mail.subject, mail.to, exc)
