"""State held by a sandbox: the platform objects, the request log, rate-limit windows.

State lives in memory (the sandboxes stand in for the platforms, not for our data) and can be
snapshotted to a JSON state file so a sandbox survives a restart.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SandboxObject:
    """One object on the platform. `fields` is the platform's own representation."""

    kind: str
    id: str
    name: str
    parent_id: str | None
    account_id: str | None
    status: str
    deleted: bool = False
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    fields: dict[str, Any] = field(default_factory=dict)

    def inspection_row(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "account_id": self.account_id,
            "status": self.status,
            "deleted": self.deleted,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class ObjectStore:
    """Every object a sandbox holds, by id, with insertion order kept for stable listing."""

    def __init__(self) -> None:
        self._objects: dict[str, SandboxObject] = {}
        self._lock = threading.RLock()

    def put(self, obj: SandboxObject) -> SandboxObject:
        with self._lock:
            self._objects[obj.id] = obj
            return obj

    def get(self, object_id: str, kind: str | None = None) -> SandboxObject | None:
        obj = self._objects.get(str(object_id))
        if obj is None or (kind is not None and obj.kind != kind):
            return None
        return obj

    def all(self, kind: str | None = None) -> list[SandboxObject]:
        with self._lock:
            return [o for o in self._objects.values() if kind is None or o.kind == kind]

    def children(self, parent_id: str, kind: str | None = None) -> list[SandboxObject]:
        return [o for o in self.all(kind) if o.parent_id == parent_id]

    def touch(self, obj: SandboxObject) -> None:
        obj.updated_at = time.time()

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()

    def inspection(self, kind: str | None = None, account_id: str | None = None) -> list[dict[str, Any]]:
        rows = [o.inspection_row() for o in self.all(kind)]
        if account_id is not None:
            rows = [r for r in rows if r["account_id"] == account_id]
        return rows

    def snapshot(self) -> list[dict[str, Any]]:
        return [_jsonable(asdict(o)) for o in self.all()]

    def restore(self, rows: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self._objects = {r["id"]: SandboxObject(**_unjsonable(r)) for r in rows}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _unjsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {k: _unjsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unjsonable(v) for v in value]
    return value


class RequestLog:
    """The request log behind `GET /_sandbox/requests`: bounded, with a sequence number per entry."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._seq = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        # The same dict is kept, so the caller may still add the outcome (status) after recording.
        entry["seq"] = next(self._seq)
        entry.setdefault("time", time.time())
        self._entries.append(entry)
        return entry

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        return [e for e in self._entries if e["seq"] > seq]

    def clear(self) -> None:
        self._entries.clear()


class WindowRateLimiter:
    """Counts calls per scope in fixed windows, as platforms count them.

    `hit` returns (allowed, remaining, reset_at_epoch_s). A disallowed call is not counted.
    """

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(
        self, scope: str, limit: int, window_s: float, now: float | None = None
    ) -> tuple[bool, int, float]:
        now = time.time() if now is None else now
        with self._lock:
            start, count = self._windows.get(scope, (now, 0))
            if now - start >= window_s:
                start, count = now, 0
            reset_at = start + window_s
            if count >= limit:
                self._windows[scope] = (start, count)
                return False, 0, reset_at
            count += 1
            self._windows[scope] = (start, count)
            return True, max(limit - count, 0), reset_at

    def usage(self, scope: str, limit: int, window_s: float, now: float | None = None) -> float:
        """Fraction of the window's allowance used so far (0.0 to 1.0 and above)."""
        now = time.time() if now is None else now
        start, count = self._windows.get(scope, (now, 0))
        if now - start >= window_s:
            return 0.0
        return count / limit if limit else 1.0

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
