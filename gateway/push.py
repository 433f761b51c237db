"""Notifications on a person's phone or browser through its push service (Web Push), where the installation enables
it (PUSH_ENABLED; docs/deployment.md). The browser subscribes with the installation's VAPID key and hands its
subscription to /api/v1/push/subscriptions; the gateway then posts encrypted messages to the endpoint
(gateway/webpush.py). Only the push services named in PUSH_SERVICES are ever contacted: an endpoint is an address
a user gives, and the gateway must not be made to post anywhere else."""

from __future__ import annotations

import ipaddress
import logging
import threading
import urllib.parse
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Response, Security
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from gateway.api import COMMON_ERRORS, NOT_FOUND, bearer
from gateway.app import Gateway, Viewer, csrf_checked, gw, viewer
from gateway.models import PushSubscription
from gateway.webpush import Vapid, unb64url
from services.common import clock
from services.common.errors import NotFound, ValidationFailed

log = logging.getLogger("congvan.gateway.push")
router = APIRouter(prefix="/api/v1/push", responses={**COMMON_ERRORS, **NOT_FOUND}, dependencies=[Security(bearer)],
                   tags=["Thông báo đẩy"])
NOT_CONFIGURED = "Hệ thống chưa bật thông báo đẩy (PUSH_ENABLED)."
_vapid_lock = threading.Lock()


class Keys(BaseModel):
    p256dh: str = Field(..., max_length=200, description="The browser's P-256 public key, base64url")
    auth: str = Field(..., max_length=100, description="The browser's authentication secret, base64url")


class Subscription(BaseModel):
    """What the browser's PushSubscription.toJSON() gives."""

    endpoint: str = Field(..., max_length=1000)
    keys: Keys


class ServerKey(BaseModel):
    application_server_key: str


class Unsubscribe(BaseModel):
    endpoint: str = Field(..., max_length=1000)


class Subscribed(BaseModel):
    endpoint: str


class Sent(BaseModel):
    sent: int
    failed: int


def vapid(g: Gateway) -> Vapid:
    """The installation's VAPID key pair, made at the first use (run time, never in the repository)."""
    settings = g.settings
    if not settings.push_enabled:
        raise NotFound(NOT_CONFIGURED, reason="push_disabled")
    with _vapid_lock:
        if getattr(g, "_vapid", None) is None:
            if not settings.push_subject.startswith(("mailto:", "https://")):
                raise ValidationFailed("PUSH_SUBJECT phải là địa chỉ mailto: hoặc https: của quản trị hệ thống.",
                                       field="push_subject")
            path = settings.push_vapid_key_file or settings.data_dir / "gateway" / "vapid.pem"
            g._vapid = Vapid.load_or_create(path, settings.push_subject)
        return g._vapid


def check_endpoint(g: Gateway, endpoint: str) -> str:
    """An endpoint of one of the allowed push services, over HTTPS (HTTP only where tests allow it)."""
    parts = urllib.parse.urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    allowed = [h.strip().lower() for h in g.settings.push_services.split(",") if h.strip()]
    schemes = ("https", "http") if g.settings.push_allow_http else ("https",)
    known = any(host == h or host.endswith("." + h) for h in allowed)
    if parts.scheme not in schemes or not known:
        raise ValidationFailed("Địa chỉ nhận thông báo không thuộc dịch vụ đẩy được phép.", field="endpoint",
                               value=endpoint[:100])
    try:
        if ipaddress.ip_address(host).is_unspecified:
            raise ValidationFailed("Địa chỉ nhận thông báo không hợp lệ.", field="endpoint", value=endpoint[:100])
    except ValueError:
        pass  # a host name
    return endpoint


def _keys_ok(keys: Keys) -> None:
    try:
        ok = len(unb64url(keys.p256dh)) == 65 and len(unb64url(keys.auth)) == 16
    except ValueError:
        ok = False
    if not ok:
        raise ValidationFailed("Khóa của trình duyệt không hợp lệ (p256dh 65 byte, auth 16 byte).", field="keys")


def send_to_user(g: Gateway, user_id: str, message: dict[str, Any]) -> Sent:
    """Posts the message to each of the person's subscriptions; a subscription its push service calls gone (404,
    410) is removed. Failures are logged, never raised: a notification is a courtesy, the work is in the lists."""
    key = vapid(g)
    with g.db.session() as s:
        subs = [(r.id, r.endpoint, r.p256dh, r.auth) for r in
                s.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id))]
    sent = failed = 0
    gone: list[int] = []
    with httpx.Client(timeout=g.settings.push_timeout, follow_redirects=False) as client:
        for sub_id, endpoint, p256dh, auth in subs:
            try:
                check_endpoint(g, endpoint)  # the allowed services may have changed since it was stored
                headers, body = key.request(endpoint, p256dh, auth, message)
                r = client.post(endpoint, headers=headers, content=body)
            except (httpx.HTTPError, ValidationFailed, ValueError) as exc:
                failed += 1
                log.warning("push to %s failed: %s", urllib.parse.urlsplit(endpoint).netloc, exc)
                continue
            if r.status_code in (200, 201, 202):
                sent += 1
            else:
                failed += 1
                if r.status_code in (404, 410):
                    gone.append(sub_id)
                log.warning("push service %s answered %s", urllib.parse.urlsplit(endpoint).netloc, r.status_code)
    if gone:
        with g.db.session() as s:
            s.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    return Sent(sent=sent, failed=failed)


@router.get("/key", response_model=ServerKey, summary="Khóa máy chủ ứng dụng (VAPID) để đăng ký nhận thông báo")
def server_key(v: Viewer = Depends(viewer), g: Gateway = Depends(gw)) -> dict[str, str]:
    return {"application_server_key": vapid(g).application_server_key}


@router.post("/subscriptions", status_code=201, response_model=Subscribed,
             summary="Nhận thông báo trên trình duyệt này (đăng ký Web Push)")
def subscribe(body: Subscription, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> dict[str, str]:
    vapid(g)
    endpoint = check_endpoint(g, body.endpoint)
    _keys_ok(body.keys)
    with g.db.session() as s:
        # One endpoint is one browser: a new sign-in on it takes the subscription over.
        s.execute(delete(PushSubscription).where(PushSubscription.endpoint == endpoint))
        s.add(PushSubscription(user_id=v.user.id, endpoint=endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth,
                               created_at=clock.now_utc()))
    return {"endpoint": endpoint}


@router.delete("/subscriptions", status_code=204, summary="Thôi nhận thông báo trên trình duyệt này")
def unsubscribe(body: Unsubscribe, v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> Response:
    with g.db.session() as s:
        s.execute(delete(PushSubscription).where(PushSubscription.endpoint == body.endpoint,
                                                 PushSubscription.user_id == v.user.id))
    return Response(status_code=204)


@router.post("/test", response_model=Sent, summary="Gửi thử một thông báo đến các trình duyệt của tôi")
def send_test(v: Viewer = Depends(csrf_checked), g: Gateway = Depends(gw)) -> Sent:
    return send_to_user(g, v.user.id, {"title": "Công Văn", "body": "Thông báo thử: thiết bị này đã nhận được.",
                                       "url": "/"})


def install(app: FastAPI) -> None:
    app.include_router(router)
