"""List edges exactly as `lookup-by-tag.md` §1.6 describes them for Meta.

`filtering` is a JSON array of `{field, operator, value}` objects, ANDed, with Meta's 15 operators,
on campaigns / ad sets / ads edges only (never on adcreatives or advideos). Fields: `name`, `id`,
`<level>.id`, `<level>.name`, `<level>.effective_status`, `<level>.delivery_info`, `campaign.id` /
`adset.id` on children, `objective` on campaigns, `<level>.adlabels` (ANY/ALL/NONE on label names).
Default listing hides ARCHIVED and DELETED; ARCHIVED appears when asked for; DELETED only behind the
`list_deleted_objects` switch. Paging uses opaque `after`/`before` cursors and an absolute `next`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox.common.store import SandboxObject
from sandbox.meta.errors import GraphError, bad_enum, not_array

OPERATORS = (
    "EQUAL",
    "NOT_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "IN_RANGE",
    "NOT_IN_RANGE",
    "CONTAIN",
    "NOT_CONTAIN",
    "IN",
    "NOT_IN",
    "ANY",
    "ALL",
    "NONE",
)
LEVEL_OF_KIND = {"campaign": "campaign", "adset": "adset", "ad": "ad"}
# delivery_info values as effective statuses map onto them (UNCONFIRMED mapping).
DELIVERY_INFO = {
    "ACTIVE": "active",
    "PAUSED": "inactive",
    "CAMPAIGN_PAUSED": "inactive",
    "ADSET_PAUSED": "inactive",
    "ARCHIVED": "archived",
    "DELETED": "deleted",
    "PENDING_REVIEW": "pending_review",
    "DISAPPROVED": "rejected",
    "PENDING_BILLING_INFO": "not_delivering",
    "IN_PROCESS": "in_process",
    "WITH_ISSUES": "with_issues",
}


class Resolver:
    """Reads a filter field off an object (`adset.effective_status` on an ad means its ad set's)."""

    def __init__(
        self,
        ancestor: Callable[[SandboxObject, str], SandboxObject | None],
        effective_status: Callable[[SandboxObject], str],
        label_names: Callable[[SandboxObject], list[str]],
    ) -> None:
        self.ancestor = ancestor
        self.effective_status = effective_status
        self.label_names = label_names

    def value(self, obj: SandboxObject, field: str) -> tuple[bool, Any]:
        level_name, _, attr = field.rpartition(".")
        if not level_name:
            attr = field
            target: SandboxObject | None = obj
        else:
            if level_name not in LEVEL_OF_KIND.values():
                return False, None
            target = self.ancestor(obj, level_name)
        if target is None:
            return False, None
        if attr == "id":
            return True, target.id
        if attr == "name":
            return True, target.name
        if attr == "effective_status":
            return True, self.effective_status(target)
        if attr == "delivery_info":
            return True, DELIVERY_INFO.get(self.effective_status(target), "inactive")
        if attr == "adlabels":
            return True, self.label_names(target)
        if attr == "objective" and target.kind == "campaign":
            return True, target.fields.get("objective")
        if attr in {"created_time", "updated_time"}:
            return True, int(target.created_at if attr == "created_time" else target.updated_at)
        return False, None


def parse_filtering(raw: Any) -> list[dict[str, Any]]:
    if raw is None or raw == "":
        return []
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise not_array("filtering") from exc
    if not isinstance(value, list):
        raise not_array("filtering")
    rules = []
    for i, rule in enumerate(value):
        if not isinstance(rule, dict):
            raise GraphError(f"(#100) The parameter filtering[{i}][field] is required")
        for key in ("field", "operator"):
            if not rule.get(key):
                raise GraphError(f"(#100) The parameter filtering[{i}][{key}] is required")
        if "value" not in rule:
            raise GraphError(f"(#100) The parameter filtering[{i}][value] is required")
        op = str(rule["operator"]).upper()
        if op not in OPERATORS:
            raise bad_enum(f"filtering[{i}][operator]", list(OPERATORS))
        if op in {"IN", "NOT_IN", "ANY", "ALL", "NONE"} and not isinstance(rule["value"], list):
            raise GraphError(f"(#100) Filtering value for operator {op} must be an array")
        if op in {"IN_RANGE", "NOT_IN_RANGE"} and not (
            isinstance(rule["value"], list) and len(rule["value"]) == 2
        ):
            raise GraphError(f"(#100) Filtering value for operator {op} must be an array of two numbers")
        rules.append({"field": str(rule["field"]), "operator": op, "value": rule["value"]})
    return rules


def _num(value: Any) -> float | int | None:
    if isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit()):
        return int(value)  # 18-digit ids do not fit a float exactly
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def matches(actual: Any, op: str, expected: Any, case_insensitive: bool) -> bool:
    if op in {"ANY", "ALL", "NONE"}:
        have = set(actual) if isinstance(actual, list) else {actual}
        want = set(expected)
        if op == "ANY":
            return bool(have & want)
        if op == "ALL":
            return want <= have
        return not (have & want)
    if isinstance(actual, list):
        return (
            any(matches(a, op, expected, case_insensitive) for a in actual)
            if op != "NOT_CONTAIN"
            else all(matches(a, op, expected, case_insensitive) for a in actual)
        )
    if op in {"CONTAIN", "NOT_CONTAIN"}:
        hay, needle = str(actual), str(expected)
        if case_insensitive:
            hay, needle = hay.lower(), needle.lower()
        return (needle in hay) == (op == "CONTAIN")
    if op == "EQUAL":
        return str(actual) == str(expected)
    if op == "NOT_EQUAL":
        return str(actual) != str(expected)
    if op == "IN":
        return str(actual) in {str(v) for v in expected}
    if op == "NOT_IN":
        return str(actual) not in {str(v) for v in expected}
    a = _num(actual)
    if op in {"IN_RANGE", "NOT_IN_RANGE"}:
        lo, hi = _num(expected[0]), _num(expected[1])
        inside = a is not None and lo is not None and hi is not None and lo <= a <= hi
        return inside == (op == "IN_RANGE")
    b = _num(expected)
    if a is None or b is None:
        return False
    return {
        "GREATER_THAN": a > b,
        "GREATER_THAN_OR_EQUAL": a >= b,
        "LESS_THAN": a < b,
        "LESS_THAN_OR_EQUAL": a <= b,
    }[op]


def parse_status_list(raw: Any, allowed: list[str]) -> list[str] | None:
    if raw is None or raw == "":
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, list):
        raise not_array("effective_status")
    for i, item in enumerate(value):
        if item not in allowed:
            raise bad_enum(f"effective_status[{i}]", allowed)
    return [str(v) for v in value]


def cursor_of(object_id: str) -> str:
    return base64.urlsafe_b64encode(f"sbx:{object_id}".encode()).decode().rstrip("=")


def id_of_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError("(#100) Invalid cursor", 100) from exc
    if not text.startswith("sbx:"):
        raise GraphError("(#100) Invalid cursor", 100)
    return text[4:]


def page(
    items: list[Any],
    key: Callable[[Any], str],
    params: dict[str, Any],
    base_url: str,
    default_limit: int = 25,
) -> tuple[list[Any], dict[str, Any] | None]:
    """Cursor paging over an already ordered list; returns (page items, paging object)."""
    raw_limit = params.get("limit", default_limit)
    try:
        limit = int(raw_limit)
    except (TypeError, ValueError) as exc:
        raise GraphError("(#100) Param limit must be an integer", 100) from exc
    if limit <= 0:
        limit = default_limit
    limit = min(limit, 5000)
    ids = [key(i) for i in items]
    start = 0
    if params.get("after"):
        after_id = id_of_cursor(str(params["after"]))
        start = ids.index(after_id) + 1 if after_id in ids else len(ids)
    elif params.get("before"):
        before_id = id_of_cursor(str(params["before"]))
        end = ids.index(before_id) if before_id in ids else 0
        start = max(0, end - limit)
    chunk = items[start : start + limit]
    if not chunk:
        return [], None
    paging: dict[str, Any] = {
        "cursors": {"before": cursor_of(key(chunk[0])), "after": cursor_of(key(chunk[-1]))}
    }
    keep = {k: v for k, v in params.items() if k not in {"after", "before"} and not hasattr(v, "file")}
    if start + limit < len(items):
        keep_next = dict(keep, limit=limit, after=paging["cursors"]["after"])
        paging["next"] = f"{base_url}?{urlencode(_flat(keep_next))}"
    if start > 0:
        keep_prev = dict(keep, limit=limit, before=paging["cursors"]["before"])
        paging["previous"] = f"{base_url}?{urlencode(_flat(keep_prev))}"
    return chunk, paging


def _flat(params: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}


def visible_after_lag(obj: SandboxObject, lag_ms: int, now: float | None = None) -> bool:
    """Real lists trail writes: objects younger than the configured lag are not listed yet."""
    if lag_ms <= 0:
        return True
    now = time.time() if now is None else now
    return (now - obj.created_at) * 1000 >= lag_ms
