"""Errors that cross service boundaries carry a machine code, a Vietnamese message for people and details for logs.

They survive a nameko RPC round trip: every subclass registers itself with nameko's exception registry and
keeps (message_vi, code, details) as its args, which is what nameko serialises.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


class CongVanError(Exception):
    """Base error. `message_vi` is shown to users; `code` and `details` go to logs and API clients."""

    code = "error"
    http_status = 400

    def __init__(self, message_vi: str, code: str | None = None, details: dict[str, Any] | None = None,
                 **more: Any) -> None:
        self.message_vi = message_vi
        self.code = code or type(self).code
        self.details = {**(details or {}), **more}
        super().__init__(message_vi, self.code, self.details)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        deserialize_to_instance(cls)

    def __str__(self) -> str:
        return self.message_vi

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message_vi, "details": self.details}


deserialize_to_instance(CongVanError)


class ValidationFailed(CongVanError):
    code = "validation_failed"
    http_status = 422


class NotFound(CongVanError):
    code = "not_found"
    http_status = 404


class Forbidden(CongVanError):
    code = "forbidden"
    http_status = 403


class Unauthenticated(CongVanError):
    code = "unauthenticated"
    http_status = 401


class Conflict(CongVanError):
    code = "conflict"
    http_status = 409
