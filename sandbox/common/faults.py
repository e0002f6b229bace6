"""Fault rules for the control API (`POST /_sandbox/faults`).

A rule matches a request by method, a path regular expression and optionally one body field, and
then has an *effect*. Error effects are answered in the platform's own error shape (each platform
maps the effect name to its real error); `latency` delays the answer; `drop_after_apply` lets the
write happen and then drops the connection so the client cannot know the outcome; `disapprove` and
`unfund` change platform state instead of failing the call.
"""

from __future__ import annotations

import builtins
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

# Effects every sandbox understands. A platform may not support every one (it says so with 400).
ERROR_EFFECTS = frozenset(
    {
        "expired_token",
        "invalid_token",
        "permission",
        "rate_limit",
        "transient",
        "meta_1487390",
        "budget_too_low",
        "deprecated_version",
        "not_found",
        "validation",
    }
)
STATE_EFFECTS = frozenset({"disapprove", "unfund"})
OTHER_EFFECTS = frozenset({"latency", "drop_after_apply"})
ALL_EFFECTS = ERROR_EFFECTS | STATE_EFFECTS | OTHER_EFFECTS


class FaultRuleError(ValueError):
    """A fault rule given to the control API is malformed."""


@dataclass
class FaultRule:
    effect: str
    method: str | None = None
    path: str | None = None  # regular expression searched in the request path
    body_field: str | None = None  # dotted path into the decoded body / form / query
    body_equals: Any = None
    body_contains: str | None = None
    count: int | None = None  # fire at most this many times (None = unlimited)
    probability: float = 1.0
    latency_ms: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # effect-specific (e.g. retry_after_s)
    id: int = 0
    fired: int = 0

    @classmethod
    def from_json(cls, raw: dict[str, Any], rule_id: int) -> FaultRule:
        if not isinstance(raw, dict):
            raise FaultRuleError("a fault rule must be a JSON object")
        effect = raw.get("effect")
        if effect not in ALL_EFFECTS:
            raise FaultRuleError(f"unknown effect {effect!r}; known: {sorted(ALL_EFFECTS)}")
        match = raw.get("match", raw)
        path = match.get("path")
        if path is not None:
            try:
                re.compile(path)
            except re.error as exc:
                raise FaultRuleError(f"path is not a regular expression: {exc}") from exc
        probability = float(raw.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise FaultRuleError("probability must be within [0, 1]")
        count = raw.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultRuleError("count must be a positive integer")
        body = match.get("body") or {}
        return cls(
            effect=effect,
            method=(match.get("method") or None) and str(match["method"]).upper(),
            path=path,
            body_field=body.get("field") or match.get("body_field"),
            body_equals=body.get("equals", match.get("body_equals")),
            body_contains=body.get("contains", match.get("body_contains")),
            count=count,
            probability=probability,
            latency_ms=int(raw.get("latency_ms", 0)),
            params=dict(raw.get("params") or {}),
            id=rule_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "effect": self.effect,
            "method": self.method,
            "path": self.path,
            "body_field": self.body_field,
            "body_equals": self.body_equals,
            "body_contains": self.body_contains,
            "count": self.count,
            "probability": self.probability,
            "latency_ms": self.latency_ms,
            "params": self.params,
            "fired": self.fired,
        }

    def matches(self, method: str, path: str, fields: dict[str, Any]) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.method and self.method != method.upper():
            return False
        if self.path and not re.search(self.path, path):
            return False
        if self.body_field:
            value = _dig(fields, self.body_field)
            if value is _MISSING:
                return False
            if (
                self.body_equals is not None
                and value != self.body_equals
                and str(value) != str(self.body_equals)
            ):
                return False
            if self.body_contains is not None and self.body_contains not in str(value):
                return False
        return True


_MISSING = object()


def _dig(data: Any, dotted: str) -> Any:
    current = data
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


class FaultEngine:
    """Holds the active rules; `pick` returns the rules that fire for one request."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, raw: dict[str, Any]) -> FaultRule:
        with self._lock:
            rule = FaultRule.from_json(raw, self._next_id)
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self._rules]

    def pick(self, method: str, path: str, fields: dict[str, Any]) -> builtins.list[FaultRule]:
        """Rules firing now, each counted once. Latency rules combine with one other effect."""
        fired: builtins.list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, fields):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                if rule.effect != "latency" and any(f.effect != "latency" for f in fired):
                    continue  # one non-latency effect per request
                rule.fired += 1
                fired.append(rule)
        return fired
