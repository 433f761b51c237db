"""The OAuth2 bearer token of an LGSP (STANDARDS.md §1.9: `X-SystemId`, `X-SecretKey`, "+ an OAuth2 bearer token in
production"), both sides: the client-credentials grant (RFC 6749 §4.4) and the bearer token on every call
(RFC 6750 §2.1).

- Our LGSP API (lgsp_api.py) answers `POST {base}/token` (any path ending in `/token`): form
  `grant_type=client_credentials`, the client authenticated by HTTP Basic (RFC 6749 §2.3.1) or by `client_id` and
  `client_secret` in the form, the client id being the system id and the secret the system's; it answers
  `{"access_token", "token_type": "Bearer", "expires_in"}`. Tokens are 256 random bits, kept only as their SHA-256
  with the system and an expiry (`LGSP_TOKEN_SECONDS`, 3600 by default). With `LGSP_REQUIRE_TOKEN=true` every
  operation also needs `Authorization: Bearer <a valid, unexpired token of that system>`, else code 15 under 401.
- The client (lgsp_edge.py), given the token endpoint (`LGSP_TOKEN_URL`), fetches a token, keeps it until shortly
  before it expires, sends it on every call, and fetches a new one once when a call is answered 401.

Hand-written over httpx (already a dependency): the grant is one form POST, and Authlib, the library that would do
it, is not a dependency of the project.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select

from services.common.db import Database
from services.interconnect.models import LgspToken

log = logging.getLogger("congvan.lgsp")
GRANT = "client_credentials"
DEFAULT_LIFETIME = 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- the server's side ----------------------------------------------------------------------------------------

class TokenStore:
    """Issued tokens, by their SHA-256: a stolen copy of the database holds no usable token."""

    def __init__(self, database: Database, lifetime: int = DEFAULT_LIFETIME) -> None:
        self.db, self.lifetime = database, lifetime
        database.create_all()

    def issue(self, system_id: str, now: datetime | None = None) -> tuple[str, int]:
        now = now or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.execute(delete(LgspToken).where(LgspToken.expires_at < now))   # expired ones serve nothing
            s.add(LgspToken(token_hash=_digest(token), system_id=system_id, created_at=now,
                            expires_at=now + timedelta(seconds=self.lifetime)))
        return token, self.lifetime

    def check(self, token: str, system_id: str, now: datetime | None = None) -> str:
        """'' if `token` is a valid, unexpired token of `system_id`; else why not (for the log)."""
        if not token:
            return "no bearer token"
        with self.db.session() as s:
            row = s.get(LgspToken, _digest(token))
            if row is None:
                return "unknown bearer token"
            if row.system_id != system_id:
                return f"bearer token of another system ({row.system_id})"
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
            if expires <= (now or datetime.now(UTC)):
                return f"bearer token expired at {expires.isoformat(timespec='seconds')}"
        return ""

    def revoke(self, system_id: str) -> int:
        """Forget every token of a system (a leaked token, a system re-keyed): its next call needs a new one."""
        with self.db.session() as s:
            return s.execute(delete(LgspToken).where(LgspToken.system_id == system_id)).rowcount or 0

    def count(self, system_id: str) -> int:
        with self.db.session() as s:
            return len(s.scalars(select(LgspToken.token_hash).where(LgspToken.system_id == system_id)).all())


def bearer_of(headers: dict[str, str]) -> str:
    """The token of `Authorization: Bearer <token>` (headers lower-cased), or ''."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def client_credentials(headers: dict[str, str], form: dict[str, str]) -> tuple[str, str]:
    """(client id, secret) from HTTP Basic, else from the form's client_id / client_secret."""
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        # RFC 6749 §2.3.1: both are form-urlencoded before being put in the Basic header.
        return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def token_answer(headers: dict[str, str], body: bytes, store: TokenStore,
                 secret_matches: Callable[[str, str], bool]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON) of a token request (RFC 6749 §4.4.2, §5.1, §5.2)."""
    if not headers.get("content-type", "").lower().startswith("application/x-www-form-urlencoded"):
        return 400, {"error": "invalid_request", "error_description": "form-urlencoded body required"}
    form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
    if form.get("grant_type") != GRANT:
        return 400, {"error": "unsupported_grant_type", "error_description": "only client_credentials"}
    system, secret = client_credentials(headers, form)
    if not system or not secret or not secret_matches(system, secret):
        log.info("lgsp token refused to %r: %s", system[:128], "no credentials" if not (system and secret)
                 else "unknown system or wrong secret")
        return 401, {"error": "invalid_client",
                     "error_description": "Sai mã hệ thống hoặc khóa bí mật kết nối trục LGSP"}
    token, lifetime = store.issue(system)
    log.info("lgsp token issued to %s for %d s", system, lifetime)
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}


# --- the client's side ----------------------------------------------------------------------------------------

class TokenError(Exception):
    """No token: `refused` when the endpoint refused our credentials (a configuration error), else unreachable."""

    def __init__(self, message: str, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


class TokenSource:
    """A token of the client-credentials grant, kept until `margin` before it expires (a tenth of its lifetime,
    at most 60 s); shared by the edge's sender and poller threads."""

    def __init__(self, url: str, system_id: str, secret: str, timeout: float = 30.0) -> None:
        self.url, self.system_id, self.secret, self.timeout = url, system_id, secret, timeout
        self.fetched = 0
        self._token, self._until = "", 0.0
        self._lock = threading.Lock()

    def bearer(self) -> str:
        with self._lock:
            if not self._token or time.monotonic() >= self._until:
                self._token, self._until = self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        """The server refused `token` (401): the next `bearer()` fetches another, unless one already did."""
        with self._lock:
            if self._token == token:
                self._token = ""

    def _fetch(self) -> tuple[str, float]:
        began = time.monotonic()
        try:
            response = httpx.post(self.url, data={"grant_type": GRANT}, auth=(self.system_id, self.secret),
                                  headers={"Accept": "application/json"}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise TokenError(f"token endpoint {self.url}: {exc.__class__.__name__}: {exc}", refused=False) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            error = answer.get("error", "") if isinstance(answer, dict) else ""
            refused = response.status_code in (400, 401) and error in ("invalid_client", "unauthorized_client")
            raise TokenError(f"token endpoint {self.url}: HTTP {response.status_code} {error}".strip(), refused)
        try:
            lifetime = float(answer.get("expires_in", DEFAULT_LIFETIME))
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        self.fetched += 1
        log.info("LGSP token fetched from %s, valid %.0f s", self.url, lifetime)
        return token, began + lifetime - min(60.0, lifetime / 10)
