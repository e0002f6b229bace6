"""The lookup surface of Snap's list endpoints — and nothing more.

Accepted query parameters: `limit` (50-1000), `cursor`, `read_deleted_entities`, `sort`. Any other
parameter (a `name` filter, `status`, …) is never honoured: ignored by default, refused with
switch `unknown_list_params=reject` (the real behaviour is UNCONFIRMED). Default order is by id
ascending (as every recorded list is). Deleted entities appear only with `read_deleted_entities=true`
and then carry `"deleted": true`. `paging.next_link` is absolute, `…?cursor=…&limit=…`; the last page
has `"paging": {}`. Lists trail writes by `config.list_read_lag_ms` (new objects are not yet listed,
fresh deletes not yet visible).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.common.config import SandboxConfig
from sandbox.common.store import SandboxObject
from sandbox.snapchat.errors import bad_request
from sandbox.snapchat.switches import switch

LIST_PARAMS = frozenset({"limit", "cursor", "read_deleted_entities", "sort"})
LIMIT_MIN, LIMIT_MAX = 50, 1000


@dataclass
class ListParams:
    limit: int | None
    cursor: str | None
    read_deleted: bool
    sort: str | None


def parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in {"true", "false"}:
        raise bad_request(f"{name} must be true or false")
    return lowered == "true"


def parse_list_params(query: Any, config: SandboxConfig) -> ListParams:
    unknown = sorted(set(query) - LIST_PARAMS)
    if unknown and switch(config, "unknown_list_params") == "reject":
        raise bad_request(f"Unsupported query parameter(s): {', '.join(unknown)}")
    limit: int | None = switch(config, "list_default_limit")
    if "limit" in query:
        raw = query["limit"]
        try:
            limit = int(raw)
        except ValueError:
            raise bad_request(f"limit must be an integer between {LIMIT_MIN} and {LIMIT_MAX}") from None
        if not LIMIT_MIN <= limit <= LIMIT_MAX:
            raise bad_request(f"limit must be between {LIMIT_MIN} and {LIMIT_MAX}, got {limit}")
    read_deleted = (
        parse_bool(query["read_deleted_entities"], "read_deleted_entities")
        if ("read_deleted_entities" in query)
        else False
    )
    sort = query.get("sort")
    if sort is not None:
        if sort not in switch(config, "sort_values"):
            raise bad_request(f"Invalid sort value {sort!r}")
        if read_deleted and switch(config, "sort_with_read_deleted_forbidden"):
            raise bad_request("sort cannot be combined with read_deleted_entities")
    return ListParams(limit, query.get("cursor"), read_deleted, sort)


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Invalid cursor") from None
    if not isinstance(payload, dict) or "v" not in payload:
        raise bad_request("Invalid cursor")
    return payload


def visible(obj: SandboxObject, params: ListParams, now: float, lag_ms: int) -> tuple[bool, bool]:
    """(listed at all, listed as deleted) for one object, given the read lag."""
    lag = lag_ms / 1000.0
    if lag and obj.created_at > now - lag:
        return False, False
    deleted_at = obj.fields.get("_deleted_at") or obj.updated_at
    deleted = obj.deleted and not (lag and deleted_at > now - lag)
    if deleted and not params.read_deleted:
        return False, False
    return True, deleted


def select(
    objects: list[SandboxObject],
    params: ListParams,
    now: float,
    lag_ms: int,
    next_base: str,
) -> tuple[list[tuple[SandboxObject, bool]], dict[str, Any]]:
    """One page of (object, shown-as-deleted) and its `paging` block."""
    rows = []
    for obj in objects:
        shown, deleted = visible(obj, params, now, lag_ms)
        if shown:
            rows.append((obj, deleted))
    if params.sort:
        field, _, direction = params.sort.partition("-")
        key = "created_at" if field == "created_at" else "updated_at"
        rows.sort(key=lambda r: (getattr(r[0], key), r[0].id), reverse=direction == "desc")
    else:
        rows.sort(key=lambda r: r[0].id)
    offset = 0
    if params.cursor:
        payload = _decode(params.cursor)
        if payload.get("k") == "id":
            rows = [r for r in rows if r[0].id > str(payload["v"])]
        else:
            try:
                offset = int(payload["v"])
            except (TypeError, ValueError):
                raise bad_request("Invalid cursor") from None
            rows = rows[offset:]
    if params.limit is None or len(rows) <= params.limit:
        return rows, {}
    page = rows[: params.limit]
    if params.sort:
        cursor = _encode({"k": "o", "v": offset + params.limit})
    else:
        cursor = _encode({"k": "id", "v": page[-1][0].id})
    query: dict[str, Any] = {"cursor": cursor, "limit": params.limit}
    if params.read_deleted:
        query["read_deleted_entities"] = "true"
    if params.sort:
        query["sort"] = params.sort
    return page, {"next_link": f"{next_base}?{urlencode(query)}"}
