"""What a consumer reads of a payload, compared with what its producer wrote.

A payload crosses a service boundary as JSON (nameko events and RPC, the edge's edXML). The consumer is handed a
`Recorded` copy that notes every key it asks for (`get`, `[]`, `setdefault`, nested objects too). A key read
but never written is drift: the consumer silently gets nothing — as the registry did for `appendices` while
routing sent `appendix_sha256s` (issue 18). Keys a consumer may legitimately miss are named by each test.
"""

from __future__ import annotations

import json
from typing import Any


class Recorded(dict):
    def __init__(self, data: dict[str, Any], reads: set[str], path: str = "") -> None:
        super().__init__({k: _wrap(v, reads, f"{path}{k}.") for k, v in data.items()})
        self._reads, self._path = reads, path

    def get(self, key: Any, default: Any = None) -> Any:
        self._reads.add(f"{self._path}{key}")
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._reads.add(f"{self._path}{key}")
        return super().__getitem__(key)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._reads.add(f"{self._path}{key}")
        return super().setdefault(key, default)


def _wrap(value: Any, reads: set[str], path: str) -> Any:
    if isinstance(value, dict):
        return Recorded(value, reads, path)
    if isinstance(value, list):
        return [_wrap(v, reads, f"{path}[].") if isinstance(v, dict) else v for v in value]
    return value


def paths(value: Any, path: str = "") -> set[str]:
    """Every key path a payload carries ("signer.full_name", "attachments.[].sha256")."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(f"{path}{k}")
            out |= paths(v, f"{path}{k}.")
    elif isinstance(value, list):
        for v in value:
            out |= paths(v, f"{path}[].")
    return out


class Wire:
    """A payload as the consumer gets it: through JSON, recorded."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.sent = json.loads(json.dumps(payload, default=str))
        self.reads: set[str] = set()
        self.payload = Recorded(self.sent, self.reads)

    def unknown_reads(self, optional: set[str] = frozenset()) -> set[str]:
        """Keys the consumer asked for that the producer never wrote, less those it may miss by design."""
        return {r for r in self.reads - paths(self.sent) if r not in optional}
