"""Notifications: in-app rows written with the business change, e-mail sent afterwards over SMTP, and an event
`notified` (outbox) from which the gateway sends Web Push to the person's devices.

The in-app notification is part of the transaction (a rolled-back assignment notifies nobody). E-mail is sent
after the commit by `deliver_pending`, which marks each row sent or failed, so a crash never sends twice a row
already marked and an SMTP outage only delays mail. Subjects are Vietnamese, sent as RFC 2047 UTF-8
encoded-words (base64), by the project's one `Mailer` (services/common/mail.py).

Settings (environment or nameko config): SMTP_HOST (unset: no e-mail), SMTP_PORT (25), SMTP_FROM.
"""

from __future__ import annotations

import logging
import smtplib
import threading

from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.db import Database, Databases
from services.common.mail import Mailer
from services.common.outbox import enqueue
from services.common.rpc import sibling_databases
from services.routing.models import Notification, Staff

log = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 5
NOTIFIED = "notified"  # routing's event for each in-app notification


def notify(session: Session, user_ids: list[str] | set[str], kind: str, title: str, body: str = "",
           ref_kind: str | None = None, ref_id: str | int | None = None, dedupe_key: str | None = None) -> int:
    """Add in-app notifications; with a dedupe key (reminders), a repeat for the same user is skipped."""
    added = 0
    for user_id in sorted({u for u in user_ids if u}):
        key = f"{dedupe_key}:{user_id}" if dedupe_key else None
        if key and session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
            continue
        row = Notification(user_id=user_id, kind=kind, title=title, body=body, ref_kind=ref_kind,
                           ref_id=str(ref_id) if ref_id is not None else None, dedupe_key=key,
                           created_at=clock.now_utc(), email_state="pending")
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # a concurrent reminder run added it first
            continue
        # For the gateway's Web Push (gateway/push_events.py): sent with the commit, never for a rolled-back change.
        enqueue(session, NOTIFIED, {"notification_id": row.id, "user_id": user_id, "kind": kind, "title": title,
                                    "body": body, "ref_kind": ref_kind, "ref_id": row.ref_id})
        added += 1
    return added


DELIVERY_BATCH = 200


def deliver_pending(database: Database, mailer: Mailer | None, limit: int = DELIVERY_BATCH) -> dict[str, int]:
    """Send the e-mail of pending notifications; people without an address get `none`."""
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    if mailer is None:
        return counts
    with database.session() as session:
        rows = session.scalars(select(Notification).where(Notification.email_state == "pending")
                               .order_by(Notification.id).limit(limit)).all()
        emails = {s.user_id: s.email for s in session.scalars(
            select(Staff).where(Staff.user_id.in_({r.user_id for r in rows})))}
        for row in rows:
            address = emails.get(row.user_id)
            if not address:
                row.email_state = "none"
                counts["skipped"] += 1
                continue
            try:
                mailer.send(address, row.title, row.body or row.title)
            except (OSError, smtplib.SMTPException) as exc:
                row.email_attempts += 1
                row.email_error = str(exc)[:2000]
                if row.email_attempts >= MAX_EMAIL_ATTEMPTS:
                    row.email_state = "failed"
                counts["failed"] += 1
                log.warning("e-mail of notification %s to %s failed: %s", row.id, address, exc)
                continue
            row.email_state = "sent"
            row.email_attempts += 1
            counts["sent"] += 1
    return counts


class MailSender(DependencyProvider):
    """The SMTP sender of a nameko service: a managed thread that delivers pending notification e-mail.

    It is woken after every call that may have notified someone (`kick()`), and polls every `interval`
    seconds for rows left pending by an SMTP outage. Settings: SMTP_HOST / SMTP_PORT / SMTP_FROM.
    """

    def __init__(self, db_attr: str = "db", interval: float = 30.0) -> None:
        self.db_attr = db_attr
        self.interval = interval
        self.mailer: Mailer | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._thread = None

    def setup(self) -> None:
        self.mailer = Mailer.from_config(self.container.config)

    def start(self) -> None:
        self._stopping = False
        if self.mailer is not None:
            self._thread = self.container.spawn_managed_thread(self._run, identifier="mail_sender")

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None

    def kill(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    def kick(self) -> None:
        self._wake.set()

    def _databases(self) -> Databases:
        return sibling_databases(self.container, self.db_attr, "MailSender")

    def deliver(self) -> None:
        """Send the pending e-mail of the agencies that wrote since the last pass (all at start); an agency whose
        e-mail failed (SMTP outage) is visited again at the next tick."""
        databases = self._databases()
        work = databases.worklist("mail")
        for agency in work.take():
            try:
                counts = deliver_pending(databases.for_agency(agency), self.mailer)
            except Exception:  # database briefly unreachable: the next tick retries
                log.exception("notification e-mail delivery of %s failed", agency)
                counts = {"failed": 1}
            if counts.get("failed") or counts.get("sent", 0) + counts.get("skipped", 0) >= DELIVERY_BATCH:
                work.again(agency)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self.deliver()
            self._wake.wait(self.interval)

    def get_dependency(self, worker_ctx) -> MailSender:
        return self
