"""Outgoing e-mail over SMTP, in the project's one style: a Vietnamese sender name, RFC 2047 UTF-8 subjects.

Used by routing's notifications (services/routing/notify.py) and by the gateway's password reset
(gateway/password_reset.py). Settings: SMTP_HOST (unset: no e-mail), SMTP_PORT (25), SMTP_FROM.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid
from typing import Any


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int = 25
    sender: str = "congvan@localhost"
    sender_name: str = "Hệ thống Công Văn"
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config: dict[str, Any] | None = None) -> Mailer | None:
        config = {str(k).upper(): v for k, v in (config or {}).items()}
        host = config.get("SMTP_HOST") or os.environ.get("SMTP_HOST")
        if not host:
            return None
        port = int(config.get("SMTP_PORT") or os.environ.get("SMTP_PORT") or 25)
        sender = str(config.get("SMTP_FROM") or os.environ.get("SMTP_FROM") or "congvan@localhost")
        return cls(host=str(host), port=port, sender=sender)

    def build(self, to: str, subject: str, body: str) -> MIMEText:
        # compat32 + Header: every character of the subject, spaces included, is inside base64 encoded-words.
        # (The modern policy's folder drops the space after an encoded-word when it folds a long Vietnamese
        # subject: "xử lý: Văn bản" arrives as "xử lý:Văn bản".)
        msg = MIMEText(body, "plain", "utf-8")
        msg["From"] = formataddr((self.sender_name, self.sender), charset="utf-8")
        msg["To"] = to
        msg["Subject"] = Header(subject, "utf-8")
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1])
        return msg

    def send(self, to: str, subject: str, body: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(self.build(to, subject, body))
