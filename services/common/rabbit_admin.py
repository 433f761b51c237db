"""A small client of RabbitMQ's management HTTP API: vhosts, users, permissions, queues, policies."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx


class RabbitAdmin:
    def __init__(self, api_uri: str, timeout: float = 15.0) -> None:
        parts = urllib.parse.urlsplit(api_uri)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port}/api"
        self.client = httpx.Client(auth=(urllib.parse.unquote(parts.username or ""),
                                         urllib.parse.unquote(parts.password or "")), timeout=timeout)

    @staticmethod
    def _q(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def _put(self, path: str, body: dict[str, Any]) -> None:
        r = self.client.put(self.base + path, json=body)
        r.raise_for_status()

    def _get(self, path: str, **params: Any) -> Any:
        r = self.client.get(self.base + path, params=params or None)
        r.raise_for_status()
        return r.json()

    def add_vhost(self, name: str, default_queue_type: str | None = None) -> None:
        body = {"default_queue_type": default_queue_type} if default_queue_type else {}
        self._put(f"/vhosts/{self._q(name)}", body)

    def delete_vhost(self, name: str) -> None:
        r = self.client.delete(f"{self.base}/vhosts/{self._q(name)}")
        if r.status_code not in (204, 404):
            r.raise_for_status()

    def vhosts(self) -> list[str]:
        return [v["name"] for v in self._get("/vhosts")]

    def add_user(self, name: str, password: str, tags: str = "") -> None:
        self._put(f"/users/{self._q(name)}", {"password": password, "tags": tags})

    def add_user_without_password(self, name: str, tags: str = "") -> None:
        """A user that cannot log in with a password (an empty hash): only EXTERNAL, by a TLS certificate."""
        self._put(f"/users/{self._q(name)}", {"password_hash": "", "tags": tags})

    def delete_user(self, name: str) -> None:
        r = self.client.delete(f"{self.base}/users/{self._q(name)}")
        if r.status_code not in (204, 404):
            r.raise_for_status()

    def set_permissions(self, vhost: str, user: str, configure: str = ".*", write: str = ".*",
                        read: str = ".*") -> None:
        self._put(f"/permissions/{self._q(vhost)}/{self._q(user)}",
                  {"configure": configure, "write": write, "read": read})

    def set_policy(self, vhost: str, name: str, pattern: str, definition: dict[str, Any],
                   apply_to: str = "queues", priority: int = 0) -> None:
        self._put(f"/policies/{self._q(vhost)}/{self._q(name)}",
                  {"pattern": pattern, "definition": definition, "apply-to": apply_to, "priority": priority})

    def queues(self, vhost: str | None = None) -> list[dict[str, Any]]:
        return self._get(f"/queues/{self._q(vhost)}" if vhost else "/queues")

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        return self._get(f"/queues/{self._q(vhost)}/{self._q(name)}")

    def connections(self) -> list[dict[str, Any]]:
        return self._get("/connections")

    def close(self) -> None:
        self.client.close()
