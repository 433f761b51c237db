"""A tiny nameko service used to test the shared RPC plumbing (actor context, errors, metrics)."""

from nameko.rpc import rpc

from services.common.errors import ValidationFailed
from services.common.rpc import ActingUser, RpcMetrics


class EchoService:
    name = "echo"
    actor = ActingUser()
    metrics = RpcMetrics()

    @rpc
    def whoami(self) -> dict:
        return self.actor.required().to_dict()

    @rpc
    def refuse(self, field: str) -> None:
        self.actor.required()
        raise ValidationFailed(f"Trường '{field}' không được để trống.", field=field)

    @rpc
    def crash(self) -> None:
        raise RuntimeError("boom")
